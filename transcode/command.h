/*
 * command.h - the transcoder's command line: a template stored in the
 * policy database, split into an argument vector the way a shell would
 * split a simple command (whitespace; '...' and "..." quoting; backslash
 * escapes outside single quotes), with the placeholders {input} and
 * {output} replaced, wherever they appear in a word, by the paths the
 * daemon chose. No shell ever runs it: there is no expansion, globbing,
 * redirection or variable, so a path can never become syntax.
 */
#ifndef MEDIAFS_TRANSCODE_COMMAND_H
#define MEDIAFS_TRANSCODE_COMMAND_H

#include <stddef.h>

#define TRANSCODE_INPUT_PLACEHOLDER "{input}"
#define TRANSCODE_OUTPUT_PLACEHOLDER "{output}"

/* A built command: argv[argc] == NULL; all of it is one allocation. */
struct transcode_argv {
	char **argv;
	size_t argc;
};

/*
 * Splits `template` and substitutes `input` and `output`. Returns 0 and
 * fills *out (free with transcode_argv_free), or -EINVAL with a static
 * reason in *why: empty command, unterminated quote, trailing backslash,
 * or a placeholder missing (both must appear at least once).
 */
int transcode_command_build(const char *template, const char *input, const char *output,
                            struct transcode_argv *out, const char **why);
void transcode_argv_free(struct transcode_argv *cmd);

/* Checks a template as transcode_command_build() would. 0 or -EINVAL. */
int transcode_command_validate(const char *template, const char **why);

/*
 * Finds the program argv[0] names: as is when it contains '/', else in
 * /usr/local/bin, /usr/bin and /bin (the daemon's own PATH is not trusted
 * to be sane). Writes the path into buf. Returns 0, -ENOENT, -ENAMETOOLONG.
 */
int transcode_command_resolve(const char *program, char *buf, size_t len);

#endif
