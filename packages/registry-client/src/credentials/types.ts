/**
 * A credential for one registry: a user name and password (or access token used as one), an
 * identity token (an OAuth2 refresh token, exchanged at the token endpoint), or a registry
 * token sent as-is as a Bearer token.
 */
export type Credential =
  | { username: string; password: string }
  | { identityToken: string; username?: string }
  | { registryToken: string };

/** Asked for a host's credential; `undefined` means "no opinion, use the next source". */
export type CredentialProvider = (host: string) => Promise<Credential | undefined> | Credential | undefined;
