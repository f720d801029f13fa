/** A registry answered with an error: status, the OCI error code when there is one, and where. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly detail: string,
    readonly method: string,
    readonly url: string
  ) {
    super(`${method} ${url} answered ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'RegistryError';
  }
}

/** Reads an error response body: OCI `{"errors":[…]}` JSON, or the text as it is. */
export async function registryError(res: Response, method: string, url: string): Promise<RegistryError> {
  const text = await res.text().catch(() => '');
  let code: string | undefined;
  let detail = text.trim().slice(0, 300);
  try {
    const body = JSON.parse(text) as {errors?: Array<{code?: string; message?: string}>; message?: string};
    if (body.errors?.length) {
      code = body.errors[0].code;
      detail = body.errors.map(e => e.message ?? e.code ?? '').join('; ');
    } else if (body.message) {
      detail = body.message;
    }
  } catch {
    // not JSON: keep the text
  }
  const u = new URL(url);
  return new RegistryError(res.status, code, detail, method, `${u.host}${u.pathname}`);
}
