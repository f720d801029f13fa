import {execOk} from '../exec.js';
import {ToolSpec} from './install.js';

/** The Notation CLI release the sign action pins by default (input notation-version overrides it). */
export const NOTATION_VERSION = 'v1.3.2';

const GOARCH: Record<string, string> = {x64: 'amd64', arm64: 'arm64'};

export const NOTATION: ToolSpec = {
  name: 'notation',
  versionInput: 'notation-version',
  pathInput: 'notation-path',
  // --force-referrers-tag, --timestamp-url and signingkeys.json as written here arrived in 1.2/1.3.
  minimum: '1.3.0',
  releasesUrl: 'https://github.com/notaryproject/notation/releases/download',
  releasesUrlEnv: 'REGISTRY_ACTIONS_NOTATION_RELEASES_URL',
  // The SHA-256 of the v1.3.2 release archives as the Notary Project publishes them (and
  // notaryproject/notation-action pins them); other versions are checked against the release's
  // notation_<version>_checksums.txt.
  pinnedChecksums: {
    '1.3.2': {
      'notation_1.3.2_linux_amd64.tar.gz': 'e1a0f060308086bf8020b2d31defb7c5348f133ca0dba6a1a7820ef3cbb6dfe5',
      'notation_1.3.2_linux_arm64.tar.gz': '34143c7b816a50104824278080a5cf12bbf855488e003f62e6acf27ed25c423c',
      'notation_1.3.2_darwin_amd64.tar.gz': '72fade2ccb0765e2ff26b53c9ca663dd33dc4f2020b2b8493e703a9ccf6174a2',
      'notation_1.3.2_darwin_arm64.tar.gz': '054bf6e9fb2619390dab9c74e5d6c511bde7609f3a060ee512c6aead2440c214'
    }
  },
  asset: (version, platform, arch) => {
    const v = version.replace(/^v/, '');
    return {
      file: `notation_${v}_${platform}_${GOARCH[arch] ?? arch}.tar.gz`,
      checksums: `notation_${v}_checksums.txt`,
      binaryInArchive: 'notation'
    };
  },
  version: async (binary, env) => {
    const out = (await execOk({command: binary, args: ['version'], env, timeoutMs: 30000})).stdout;
    const v = out.match(/^Version:\s+(\S+)/m)?.[1];
    if (!v) throw new Error('notation version printed no Version');
    return v.replace(/\+.*$/, '');
  }
};
