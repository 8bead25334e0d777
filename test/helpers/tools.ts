/** Finds the programs tests drive that Debian installs outside a user's PATH (haproxy and nginx live in /usr/sbin). */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const SYSTEM_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/** The absolute path of `name` on PATH or in the sbin directories, or undefined. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

/** Like findTool, but says which Debian package to install when the program is missing. */
export function requireTool(name: string, debianPackage = name): string {
  const path = findTool(name);
  if (!path)
    throw new Error(`${name} is not installed: apt-get install ${debianPackage} (scripts/test-deps.sh)`);
  return path;
}
