/**
 * Fills `${NAME}` and `${NAME-default}` in a config template (deploy/nginx/*.template), as
 * envsubst and HAProxy do. Only upper-case names are placeholders, so nginx's own variables
 * ($host, ${host}) pass through; a placeholder with neither a value nor a default is an error.
 */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z][A-Z0-9_]*)(?:-([^}]*))?\}/g, (whole, name: string, fallback?: string) => {
    const v = vars[name] ?? fallback;
    if (v === undefined) throw new Error(`template: no value for ${whole}`);
    return v;
  });
}
