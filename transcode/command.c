/* command.c - see command.h. */
#include "transcode/command.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Splits `template` into words written one after another, each ended by
 * NUL, into buf (strlen(template) + 1 bytes always suffice: every word
 * ends where a separator or quote was, or at the template's end).
 * Returns the number of words, or -EINVAL with *why set.
 */
static int split_words(const char *template, char *buf, const char **why)
{
	char quote = 0, *out = buf;
	int in_word = 0, count = 0;

	for (const char *p = template;; p++) {
		char c = *p;

		if (c == '\0') {
			if (quote) {
				*why = "unterminated quote";
				return -EINVAL;
			}
			break;
		}
		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else
				*out++ = c;
			continue;
		}
		if (c == '\\') {
			if (p[1] == '\0') {
				*why = "trailing backslash";
				return -EINVAL;
			}
			*out++ = *++p;
			in_word = 1;
			continue;
		}
		if (quote == '"') {
			if (c == '"')
				quote = 0;
			else
				*out++ = c;
			continue;
		}
		if (c == '\'' || c == '"') {
			quote = c;
			in_word = 1;
		} else if (c == ' ' || c == '\t' || c == '\n') {
			if (in_word) {
				*out++ = '\0';
				count++;
				in_word = 0;
			}
		} else {
			*out++ = c;
			in_word = 1;
		}
	}
	if (in_word) {
		*out++ = '\0';
		count++;
	}
	if (count == 0) {
		*why = "empty command";
		return -EINVAL;
	}
	return count;
}

/* Copies `word` to out (when not NULL) with placeholders replaced; returns
 * the length of the result and counts the placeholders it met. */
static size_t substitute(const char *word, const char *input, const char *output, char *out,
                         int *inputs_seen, int *outputs_seen)
{
	static const char in_ph[] = TRANSCODE_INPUT_PLACEHOLDER, out_ph[] = TRANSCODE_OUTPUT_PLACEHOLDER;
	size_t len = 0;

	while (*word) {
		const char *text = NULL;
		size_t skip = 1;

		if (strncmp(word, in_ph, sizeof(in_ph) - 1) == 0) {
			text = input;
			skip = sizeof(in_ph) - 1;
			(*inputs_seen)++;
		} else if (strncmp(word, out_ph, sizeof(out_ph) - 1) == 0) {
			text = output;
			skip = sizeof(out_ph) - 1;
			(*outputs_seen)++;
		}
		if (text) {
			if (out)
				memcpy(out + len, text, strlen(text));
			len += strlen(text);
		} else {
			if (out)
				out[len] = *word;
			len++;
		}
		word += skip;
	}
	if (out)
		out[len] = '\0';
	return len;
}

int transcode_command_build(const char *template, const char *input, const char *output,
                            struct transcode_argv *out, const char **why)
{
	char *words = malloc(strlen(template) + 1), *strings;
	int count, inputs = 0, outputs = 0;
	size_t total = 0;
	const char *word;

	if (!words)
		return -ENOMEM;
	count = split_words(template, words, why);
	if (count < 0) {
		free(words);
		return count;
	}
	word = words;
	for (int i = 0; i < count; i++, word += strlen(word) + 1)
		total += substitute(word, input, output, NULL, &inputs, &outputs) + 1;
	if (inputs == 0 || outputs == 0) {
		*why = inputs == 0 ? "no {input} placeholder" : "no {output} placeholder";
		free(words);
		return -EINVAL;
	}
	out->argv = malloc(((size_t)count + 1) * sizeof(char *) + total);
	if (!out->argv) {
		free(words);
		return -ENOMEM;
	}
	strings = (char *)(out->argv + count + 1);
	word = words;
	for (int i = 0; i < count; i++, word += strlen(word) + 1) {
		out->argv[i] = strings;
		strings += substitute(word, input, output, strings, &inputs, &outputs) + 1;
	}
	out->argv[count] = NULL;
	out->argc = (size_t)count;
	free(words);
	return 0;
}

void transcode_argv_free(struct transcode_argv *cmd)
{
	free(cmd->argv);
	cmd->argv = NULL;
	cmd->argc = 0;
}

int transcode_command_validate(const char *template, const char **why)
{
	struct transcode_argv cmd;
	int rc = transcode_command_build(template, "in", "out", &cmd, why);

	if (rc == 0)
		transcode_argv_free(&cmd);
	return rc;
}

int transcode_command_resolve(const char *program, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/local/bin", "/usr/bin", "/bin" };

	if (strchr(program, '/')) {
		if ((size_t)snprintf(buf, len, "%s", program) >= len)
			return -ENAMETOOLONG;
		return access(buf, X_OK) == 0 ? 0 : -ENOENT;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if ((size_t)snprintf(buf, len, "%s/%s", dirs[i], program) >= len)
			return -ENAMETOOLONG;
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}
