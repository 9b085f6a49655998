// A name given to allow, block or reset that no installed kernel's module index
// and not the policy knows. Most likely a typo, unless the configuration
// mentions it already or there is no module index to ask (an image without a
// kernel yet): then it is taken as a module name.

import type { OverrideRequest } from "./override-plan.ts";

export interface UnknownNameFacts {
  request: OverrideRequest;
  /** The name as the user gave it. */
  name: string;
  /** Installed kernel releases whose module index was asked, the running one first. */
  releases: readonly string[];
  /** The effective configuration blacklists the name's module already. */
  blacklisted: boolean;
  /** Something (ours or the administrator's) is at the module's override path. */
  overridden: boolean;
}

export interface UnknownNameRefusal {
  message: string;
  hint: string;
}

/** Why the name is refused (a usage error), or null to go on with it as a module name. */
export function refuseUnknownName(facts: UnknownNameFacts): UnknownNameRefusal | null {
  // reset only drops an override: whatever the name, there may be one to drop.
  if (facts.request === "reset" || facts.releases.length === 0) return null;
  if (facts.blacklisted || facts.overridden) return null;
  return {
    message: `unknown filesystem or module '${facts.name}': no installed kernel (${facts.releases.join(", ")}) has a module or filesystem of that name, and the policy does not list it`,
    hint: "check the spelling; fsblacklist status lists the policy's filesystems",
  };
}
