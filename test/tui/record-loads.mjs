// Preloaded with `node --import`: records the URL of every module the process
// loads in the file named by $FSB_LOAD_LOG (how the tests see which chunks a
// command loads).
import { register } from "node:module";

register(new URL("./load-hook.mjs", import.meta.url));
