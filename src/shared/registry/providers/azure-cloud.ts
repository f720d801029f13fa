/**
 * Azure's clouds as a registry host names them: the container registry suffix, the Entra ID (Azure AD)
 * authority that issues tokens there and the Resource Manager audience ACR's token exchange accepts.
 * Public, China (21Vianet) and US Government, from Azure's published endpoint lists.
 */
export interface AzureCloud {
  name: string;
  registrySuffix: string;
  authority: string;
  scope: string;
}

export const AZURE_CLOUDS: readonly AzureCloud[] = [
  {
    name: 'AzureCloud',
    registrySuffix: '.azurecr.io',
    authority: 'https://login.microsoftonline.com',
    scope: 'https://management.azure.com/.default'
  },
  {
    name: 'AzureChinaCloud',
    registrySuffix: '.azurecr.cn',
    authority: 'https://login.chinacloudapi.cn',
    scope: 'https://management.chinacloudapi.cn/.default'
  },
  {
    name: 'AzureUSGovernment',
    registrySuffix: '.azurecr.us',
    authority: 'https://login.microsoftonline.us',
    scope: 'https://management.usgovcloudapi.net/.default'
  }
];

/** The Azure cloud whose container registry this host is; undefined when it is not an ACR host. Pure. */
export function azureCloudOf(registry: string): AzureCloud | undefined {
  const host = registry.toLowerCase().replace(/:\d+$/, '');
  return AZURE_CLOUDS.find(c => host.endsWith(c.registrySuffix));
}

/**
 * Where ACR's login gets its Entra ID token for a registry: the registry's cloud's authority (the
 * public cloud's for a host that names none, such as a private endpoint or a test), unless
 * AZURE_AUTHORITY_HOST says otherwise, and that cloud's Resource Manager scope. Pure.
 */
export function entraTokenRequest(
  registry: string,
  tenant: string,
  env: NodeJS.ProcessEnv
): {url: string; scope: string} {
  const cloud = azureCloudOf(registry) ?? AZURE_CLOUDS[0];
  const authority = (env.AZURE_AUTHORITY_HOST || cloud.authority).replace(/\/+$/, '');
  return {url: `${authority}/${tenant}/oauth2/v2.0/token`, scope: cloud.scope};
}
