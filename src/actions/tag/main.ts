import {ActionIO, githubIO} from '../../shared/action/io.js';
import {deriveTags, readTagInputs, writeBakeFiles} from '../../shared/tag/run.js';
import {tagSummary} from '../../shared/tag/summary.js';

function setOutput(io: ActionIO, name: string, value: string): void {
  io.output(name, value);
  const exportEnv = process.env.DOCKER_METADATA_SET_OUTPUT_ENV;
  if (exportEnv === undefined || /^(true|1|yes)$/i.test(exportEnv)) {
    io.exportVariable(`DOCKER_METADATA_OUTPUT_${name.replace(/\W/g, '_').toUpperCase()}`, value);
  }
}

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const inputs = readTagInputs(io);
  const meta = await deriveTags(inputs, {env: process.env, log: io.log, mask: m => io.mask(m)});
  if (!meta.version.main) io.log.warning('No Docker image version has been generated. Check tags input.');
  else io.log.info(`version: ${meta.version.main}`);
  if (meta.tags.length === 0) io.log.warning('No Docker tag has been generated. Check tags input.');
  await io.log.group('Tags', async () => meta.tags.forEach(t => io.log.info(t)));
  await io.log.group('Labels', async () => meta.labels.forEach(l => io.log.info(l)));

  setOutput(io, 'version', meta.version.main ?? '');
  setOutput(io, 'tags', meta.tags.join(inputs.sepTags));
  setOutput(io, 'tag-names', meta.tagNames.join(inputs.sepTags));
  setOutput(io, 'labels', meta.labels.join(inputs.sepLabels));
  setOutput(io, 'annotations', meta.annotations.join(inputs.sepAnnotations));
  setOutput(io, 'json', JSON.stringify(meta.json));
  setOutput(io, 'tags-json', JSON.stringify(meta.classified));
  const bake = writeBakeFiles(meta, inputs.bakeTarget);
  setOutput(io, 'bake-file-tags', bake.tags);
  setOutput(io, 'bake-file-labels', bake.labels);
  setOutput(io, 'bake-file-annotations', bake.annotations);
  setOutput(io, 'bake-file', bake.all);
  await io.summary?.(tagSummary(meta));
}
