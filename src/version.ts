// Replaced at bundle time would be nicer, but one literal kept in sync with
// package.json by a test is simpler and costs no file read at start-up.
export const VERSION = "0.1.0";
