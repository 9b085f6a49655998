// The man page fsblacklist(8) and the bash, zsh and fish completions, written
// from the command table itself (commandTable in src/cli.ts, as bundled in
// dist/cli.cjs), so they cannot drift from what the command accepts.
// scripts/package.mjs puts them into the package.

/**
 * What a value or an argument completes to, by the placeholder the command
 * table gives it (`--root <dir>`, `[fs...]`). A placeholder not named here
 * completes to nothing (free text such as `--message <text>`).
 */
const COMPLETES = {
  dir: "directories",
  file: "files",
  target: "files",
  type: "filesystems",
  fs: "filesystems",
  module: "filesystems",
};

/** The command table as plain data: the program's options, and each command's arguments and options. */
export function describeCommands(program) {
  const help = program.createHelp();
  const option = (o) => {
    const placeholder = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? null;
    return {
      flags: o.flags,
      long: o.long ?? null,
      short: o.short ?? null,
      value: placeholder,
      completes: placeholder === null ? null : (COMPLETES[placeholder] ?? "text"),
      description: o.description,
    };
  };
  const argument = (a) => ({
    name: a.name(),
    required: a.required,
    variadic: a.variadic,
    completes: COMPLETES[a.name()] ?? "text",
    description: a.description,
  });
  const commands = help.visibleCommands(program).map((c) => ({
    name: c.name(),
    description: c.description(),
    arguments: c.registeredArguments.map(argument),
    options: help.visibleOptions(c).map(option),
  }));
  return {
    name: program.name(),
    description: program.description(),
    options: help.visibleOptions(program).map(option),
    commands,
  };
}

const usageOf = (command) =>
  [
    command.options.some((o) => o.long !== "--help") ? "[options]" : null,
    ...command.arguments.map((a) => (a.required ? `<${a.name}${a.variadic ? "..." : ""}>` : `[${a.name}${a.variadic ? "..." : ""}]`)),
  ]
    .filter((part) => part !== null)
    .join(" ");

// ---- man page -------------------------------------------------------------

/** Text as roff prints it: backslashes and hyphens escaped, no line that starts a request. */
const roff = (text) =>
  text
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .replace(/^([.'])/gm, "\\&$1");

/** fsblacklist(8): the command table, and around it the prose it does not carry (purpose, exit status, files). */
export function manPage(table, { version, date, filesystems }) {
  const lines = [];
  const add = (...more) => lines.push(...more);
  add(`.TH FSBLACKLIST 8 "${date}" "fsblacklist ${version}" "System Administration"`);
  add(".SH NAME", `fsblacklist \\- ${roff(table.description.charAt(0).toLowerCase() + table.description.slice(1))}`);
  add(".SH SYNOPSIS", ".B fsblacklist", ".RI [ options ]", ".I command", ".RI [ arguments ]");
  add(".SH DESCRIPTION");
  add(
    roff(
      "fsblacklist keeps rarely used, poorly maintained filesystem modules from being auto-loaded by the kernel when a mount asks for them, " +
        "by one modprobe.d fragment per module in the vendor directory. It keeps the filesystems the running system uses loadable, " +
        "lets the administrator allow or block a filesystem with overrides in /etc/modprobe.d, and explains why a mount failed.",
    ),
  );
  add(".PP", roff("The package's maintainer scripts run `fsblacklist apply' after installation and upgrade and `fsblacklist uninstall' before removal."));
  add(".SH OPTIONS");
  for (const o of table.options) add(".TP", `.B ${roff(o.flags)}`, roff(o.description));
  add(".SH COMMANDS");
  for (const command of table.commands.filter((c) => c.name !== "help")) {
    add(".TP", `.B ${roff(`${command.name}`)}${usageOf(command) ? ` ${roff(usageOf(command))}` : ""}`, roff(command.description));
    for (const a of command.arguments) add(".RS", ".TP", `.I ${roff(a.name)}`, roff(a.description), ".RE");
    for (const o of command.options.filter((o) => o.long !== "--help")) add(".RS", ".TP", `.B ${roff(o.flags)}`, roff(o.description), ".RE");
  }
  add(".SH EXIT STATUS", ".TP", ".B 0", "success;", roff("`explain' found the cause."), ".TP", ".B 1", "runtime failure; nothing is half-written.", ".TP", ".B 2", "usage error or bad input.");
  add(".SH ENVIRONMENT");
  add(".TP", ".B DPKG_ROOT", roff("the default of --root."), ".TP", ".B NO_COLOR", "no colour, also at a terminal.");
  add(".SH FILES");
  add(".TP", ".I /usr/share/fsblacklist/blacklist.d", roff(`the shipped policy: one fragment per filesystem module (${filesystems.join(", ")}).`));
  add(".TP", ".I /usr/lib/modprobe.d/60\\-blacklist_fs\\-*.conf", roff("the fragments apply installs (/lib/modprobe.d where kmod is older than 32)."));
  add(
    ".TP",
    ".I /etc/modprobe.d/60\\-blacklist_fs\\-*.conf",
    roff("overrides: allow, block and apply's keeps, marked as fsblacklist's; a file without the marker is the administrator's and never changed."),
  );
  add(".TP", ".I /etc/fsblacklist/config.yaml", "the configuration.");
  add(".TP", ".I /var/lib/fsblacklist/state.json", "what apply installed and kept, and why.");
  add(".SH SEE ALSO", ".BR modprobe.d (5),", ".BR modprobe (8),", ".BR update\\-initramfs (8)");
  return `${lines.join("\n")}\n`;
}

// ---- bash -----------------------------------------------------------------

const shellWords = (words) => words.join(" ");
const valueOptions = (table) => {
  const all = [...table.options, ...table.commands.flatMap((c) => c.options)].filter((o) => o.value !== null && o.long !== null);
  return [...new Map(all.map((o) => [o.long, o])).values()];
};
const optionWords = (options) => options.flatMap((o) => [o.short, o.long]).filter((w) => w !== null);

export function bashCompletion(table, { filesystems }) {
  const values = valueOptions(table);
  const bashReply = (completes) =>
    ({
      directories: "_filedir -d",
      files: "_filedir",
      filesystems: 'COMPREPLY=($(compgen -W "$filesystems" -- "$cur"))',
      text: ":",
    })[completes];
  const lines = [
    "# bash completion for fsblacklist(8); generated from its command table by scripts/package.mjs",
    "_fsblacklist()",
    "{",
    "    local cur prev words cword",
    "    _init_completion || return",
    "",
    `    local filesystems="${shellWords(filesystems)}"`,
    `    local globals="${shellWords(optionWords(table.options))}"`,
    '    local command="" i',
    "    for ((i = 1; i < cword; i++)); do",
    "        case ${words[i]} in",
    `            ${values.map((o) => o.long).join("|")}) ((i++)) ;;`,
    "            -*) ;;",
    "            *) command=${words[i]}; break ;;",
    "        esac",
    "    done",
    "",
    "    case $prev in",
    ...values.map((o) => `        ${o.long}) ${bashReply(o.completes)}; return ;;`),
    "    esac",
    "",
    '    local options="" arguments=text',
    "    case $command in",
    `        "") COMPREPLY=($(compgen -W "${shellWords(table.commands.map((c) => c.name))} $globals" -- "$cur")); return ;;`,
    ...table.commands.map((c) => {
      const completes = c.name === "help" ? "commands" : (c.arguments[0]?.completes ?? "none");
      return `        ${c.name}) options="${shellWords(optionWords(c.options))}"; arguments=${completes} ;;`;
    }),
    "        *) return ;;",
    "    esac",
    "    if [[ $cur == -* ]]; then",
    '        COMPREPLY=($(compgen -W "$options $globals" -- "$cur"))',
    "        return",
    "    fi",
    "    case $arguments in",
    `        commands) COMPREPLY=($(compgen -W "${shellWords(table.commands.map((c) => c.name))}" -- "$cur")) ;;`,
    ...["directories", "files", "filesystems"].map((kind) => `        ${kind}) ${bashReply(kind)} ;;`),
    "    esac",
    "} &&",
    "    complete -F _fsblacklist fsblacklist",
    "",
    "# ex: filetype=sh",
  ];
  return `${lines.join("\n")}\n`;
}

// ---- zsh ------------------------------------------------------------------

/** A description inside a single-quoted _arguments spec: brackets and colons escaped. */
const zshText = (text) =>
  text
    .replace(/\\/g, "\\\\")
    .replace(/[[\]:]/g, (c) => `\\${c}`)
    .replace(/'/g, "'\\''");

export function zshCompletion(table, { filesystems }) {
  const action = (completes) => ({ directories: "_files -/", files: "_files", filesystems: "_fsblacklist_filesystems", text: " " })[completes];
  const spec = (o) => {
    const names = [o.short, o.long].filter((n) => n !== null);
    const exclusive = names.length > 1 ? `(${names.join(" ")})` : "";
    const value = o.value === null ? "" : `:${o.value}:${action(o.completes)}`;
    const forms = names.length > 1 ? `{${names.join(",")}}` : names[0];
    const text = `[${zshText(o.description)}]${value}`;
    return names.length > 1 ? `'${exclusive}'${forms}'${text}'` : `'${forms}${text}'`;
  };
  const lines = [
    "#compdef fsblacklist",
    "# zsh completion for fsblacklist(8); generated from its command table by scripts/package.mjs",
    "",
    "_fsblacklist_filesystems() {",
    `  local -a filesystems=(${shellWords(filesystems)})`,
    "  _describe -t filesystems 'filesystem' filesystems",
    "}",
    "",
    "_fsblacklist() {",
    "  local curcontext=$curcontext state line ret=1",
    `  local -a globals=(${table.options.map(spec).join(" ")})`,
    "  _arguments -C $globals ': :->command' '*:: :->argument' && ret=0",
    "  case $state in",
    "    command)",
    `      local -a commands=(${table.commands.map((c) => `'${c.name}:${zshText(c.description)}'`).join(" ")})`,
    "      _describe -t commands 'fsblacklist command' commands && ret=0",
    "      ;;",
    "    argument)",
    "      curcontext=${curcontext%:*:*}:fsblacklist-$line[1]:",
    "      case $line[1] in",
    ...table.commands.map((c) => {
      const args = c.name === "help" ? ["':command:(" + shellWords(table.commands.map((x) => x.name)) + ")'"] : c.arguments.map((a) => `'${a.variadic ? "*" : ""}:${a.name}:${action(a.completes)}'`);
      return `        ${c.name}) _arguments $globals ${[...c.options.map(spec), ...args].join(" ")} && ret=0 ;;`;
    }),
    "      esac",
    "      ;;",
    "  esac",
    "  return ret",
    "}",
    "",
    '_fsblacklist "$@"',
  ];
  return `${lines.join("\n")}\n`;
}

// ---- fish -----------------------------------------------------------------

const fishText = (text) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

export function fishCompletion(table, { filesystems }) {
  const commands = table.commands.map((c) => c.name);
  const valueFlags = (completes) => ({ directories: "-x -a '(__fish_complete_directories)'", files: "-r -F", filesystems: `-x -a ${fishText(shellWords(filesystems))}`, text: "-x" })[completes];
  const optionLine = (o, condition) => {
    const names = [o.short ? `-s ${o.short.slice(1)}` : null, o.long ? `-l ${o.long.slice(2)}` : null].filter((n) => n !== null).join(" ");
    const value = o.value === null ? "" : ` ${valueFlags(o.completes)}`;
    return `complete -c fsblacklist${condition ? ` -n ${fishText(condition)}` : ""} ${names}${value} -d ${fishText(o.description)}`;
  };
  const lines = [
    "# fish completion for fsblacklist(8); generated from its command table by scripts/package.mjs",
    "complete -c fsblacklist -f",
    ...table.options.map((o) => optionLine(o, null)),
    ...table.commands.map((c) => `complete -c fsblacklist -n ${fishText(`not __fish_seen_subcommand_from ${shellWords(commands)}`)} -a ${c.name} -d ${fishText(c.description)}`),
  ];
  for (const c of table.commands) {
    const seen = `__fish_seen_subcommand_from ${c.name}`;
    for (const o of c.options) lines.push(optionLine(o, seen));
    const completes = c.name === "help" ? "commands" : (c.arguments[0]?.completes ?? "none");
    if (completes === "filesystems") lines.push(`complete -c fsblacklist -n ${fishText(seen)} -a ${fishText(shellWords(filesystems))}`);
    if (completes === "files") lines.push(`complete -c fsblacklist -n ${fishText(seen)} -F`);
    if (completes === "commands") lines.push(`complete -c fsblacklist -n ${fishText(seen)} -a ${fishText(shellWords(commands))}`);
  }
  return `${lines.join("\n")}\n`;
}
