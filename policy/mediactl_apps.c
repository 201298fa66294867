/*
 * mediactl_apps.c - `app add|remove|set|list`, `grant`, `revoke`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/context_match.h"
#include "policy/engine.h"
#include "policy/mediactl.h"

/* A package name: letters, digits, '.', '_' and '-', not starting with '.'. */
static int valid_package(const char *package)
{
	size_t len = strlen(package);

	if (len == 0 || len >= DB_PACKAGE_MAX || package[0] == '.')
		return 0;
	for (const char *p = package; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	}
	return 1;
}

/* Finds the uid named by --uid or --package. */
static int target_uid(struct cli *cli, uid_t *uid)
{
	struct db_app app;
	int rc;

	if ((cli->given & OPT_UID) && (cli->given & OPT_PACKAGE))
		return cli_fail(EXIT_USAGE, "give --uid or --package, not both");
	if (cli->given & OPT_UID) {
		if (cli_parse_uid(cli->uid_arg, uid) < 0)
			return cli_fail(EXIT_USAGE, "invalid uid '%s'", cli->uid_arg);
		return EXIT_OK;
	}
	if (!(cli->given & OPT_PACKAGE))
		return cli_fail(EXIT_USAGE, "--uid UID or --package PKG is required");
	rc = cli_open_db(cli);
	if (rc != EXIT_OK)
		return rc;
	rc = db_app_get_by_package(cli->conn, cli->package, &app);
	if (rc == -ENOENT)
		return cli_fail(EXIT_FAILED, "no app with package '%s'", cli->package);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "reading the database: %s", strerror(-rc));
	*uid = app.uid;
	return EXIT_OK;
}

static int app_add(struct cli *cli)
{
	uid_t uid;
	int rc;

	if (!(cli->given & OPT_UID) || !(cli->given & OPT_PACKAGE))
		return cli_fail(EXIT_USAGE, "app add needs --uid UID and --package PKG");
	if (cli->given & OPT_HEVC)
		return cli_fail(EXIT_USAGE, "app add takes --no-hevc, not --hevc");
	if (cli_parse_uid(cli->uid_arg, &uid) < 0)
		return cli_fail(EXIT_USAGE, "invalid uid '%s'", cli->uid_arg);
	if (policy_is_system_uid(uid))
		return cli_fail(EXIT_USAGE, "uid %u is a system uid (apps start at %d)",
		                (unsigned)uid, POLICY_FIRST_APP_UID);
	if (!valid_package(cli->package))
		return cli_fail(EXIT_USAGE, "invalid package name '%s'", cli->package);
	rc = cli_open_db(cli);
	if (rc != EXIT_OK)
		return rc;
	rc = db_app_add(cli->conn, uid, cli->package, (cli->given & OPT_NO_HEVC) != 0);
	if (rc == -EEXIST)
		return cli_fail(EXIT_FAILED, "uid %u or package '%s' is already registered",
		                (unsigned)uid, cli->package);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "adding the app: %s", strerror(-rc));
	return EXIT_OK;
}

static int app_remove(struct cli *cli)
{
	uid_t uid;
	int rc;

	if (cli->given & (OPT_HEVC | OPT_NO_HEVC))
		return cli_fail(EXIT_USAGE, "app remove takes no --hevc/--no-hevc");
	rc = target_uid(cli, &uid);
	if (rc == EXIT_OK && cli->conn == NULL)
		rc = cli_open_db(cli);
	if (rc != EXIT_OK)
		return rc;
	rc = db_app_remove(cli->conn, uid);
	if (rc == -ENOENT)
		return cli_fail(EXIT_FAILED, "no app with uid %u", (unsigned)uid);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "removing the app: %s", strerror(-rc));
	return EXIT_OK;
}

static int app_set(struct cli *cli)
{
	uid_t uid;
	int rc, hevc = (cli->given & OPT_HEVC) != 0, no_hevc = (cli->given & OPT_NO_HEVC) != 0;

	if (hevc == no_hevc)
		return cli_fail(EXIT_USAGE, "app set needs exactly one of --hevc, --no-hevc");
	rc = target_uid(cli, &uid);
	if (rc == EXIT_OK && cli->conn == NULL)
		rc = cli_open_db(cli);
	if (rc != EXIT_OK)
		return rc;
	rc = db_app_set_no_hevc(cli->conn, uid, no_hevc);
	if (rc == -ENOENT)
		return cli_fail(EXIT_FAILED, "no app with uid %u", (unsigned)uid);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "changing the app: %s", strerror(-rc));
	return EXIT_OK;
}

struct list_ctx {
	struct cli *cli;
	int count;
	char perms[256];
};

static int append_permission(const char *name, void *ctx)
{
	struct list_ctx *list = ctx;
	size_t used = strlen(list->perms);

	if (list->cli->json)
		snprintf(list->perms + used, sizeof(list->perms) - used, "%s\"%s\"",
		         used ? ", " : "", name);
	else
		snprintf(list->perms + used, sizeof(list->perms) - used, "%s%s",
		         used ? "," : "", name);
	return 0;
}

static int print_app(const struct db_app *app, void *ctx)
{
	struct list_ctx *list = ctx;
	int rc;

	list->perms[0] = '\0';
	rc = db_permission_foreach(list->cli->conn, app->uid, append_permission, list);
	if (rc < 0)
		return rc;
	if (list->cli->json) {
		printf("%s\n  {\"uid\": %u, \"package\": ", list->count ? "," : "", (unsigned)app->uid);
		cli_json_string(stdout, app->package);
		printf(", \"hevc\": %s, \"permissions\": [%s]}", app->no_hevc ? "false" : "true",
		       list->perms);
	} else {
		printf("%-10u %-32s %-8s %s\n", (unsigned)app->uid, app->package,
		       app->no_hevc ? "no-hevc" : "hevc", list->perms[0] ? list->perms : "-");
	}
	list->count++;
	return 0;
}

static int app_list(struct cli *cli)
{
	struct list_ctx list = { cli, 0, "" };
	int rc;

	if (cli->given & (OPT_UID | OPT_PACKAGE | OPT_HEVC | OPT_NO_HEVC))
		return cli_fail(EXIT_USAGE, "app list takes no --uid/--package/--hevc/--no-hevc");
	rc = cli_open_db(cli);
	if (rc != EXIT_OK)
		return rc;
	if (cli->json)
		printf("[");
	else
		printf("%-10s %-32s %-8s %s\n", "UID", "PACKAGE", "HEVC", "PERMISSIONS");
	rc = db_app_foreach(cli->conn, print_app, &list);
	if (cli->json)
		printf("%s]\n", list.count ? "\n" : "");
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "listing apps: %s", strerror(-rc));
	return EXIT_OK;
}

int cmd_app(struct cli *cli)
{
	const char *sub = cli->words[1];

	if (strcmp(sub, "list") != 0 && cli->json)
		return cli_fail(EXIT_USAGE, "option --json does not apply to 'app %s'", sub);
	if (strcmp(sub, "add") == 0)
		return app_add(cli);
	if (strcmp(sub, "remove") == 0)
		return app_remove(cli);
	if (strcmp(sub, "set") == 0)
		return app_set(cli);
	if (strcmp(sub, "list") == 0)
		return app_list(cli);
	return cli_fail(EXIT_USAGE, "unknown command 'app %s' (see --help)", sub);
}

int cmd_grant(struct cli *cli, int revoke)
{
	const char *perm = cli->words[2];
	unsigned bit;
	uid_t uid;
	int rc;

	if (cli_parse_uid(cli->words[1], &uid) < 0)
		return cli_fail(EXIT_USAGE, "invalid uid '%s'", cli->words[1]);
	if (policy_permission_from_name(perm, &bit) < 0)
		return cli_fail(EXIT_USAGE, "unknown permission '%s' (see --help)", perm);
	if (cli->context && !policy_context_valid(cli->context))
		return cli_fail(EXIT_USAGE, "invalid SELinux context '%s'", cli->context);
	rc = cli_open_db(cli);
	if (rc != EXIT_OK)
		return rc;
	/* Ordered so the daemon never sees a grant wider than asked: a new
	 * condition lands before the permission, old ones go after it. */
	if (!revoke && cli->context) {
		if (db_app_get(cli->conn, uid, &(struct db_app){ 0 }) == -ENOENT)
			return cli_fail(EXIT_FAILED, "no app with uid %u (app add first)", (unsigned)uid);
		rc = db_permission_context_add(cli->conn, uid, perm, cli->context);
		if (rc < 0)
			return cli_fail(EXIT_FAILED, "recording the context: %s", strerror(-rc));
	}
	rc = revoke ? db_permission_remove(cli->conn, uid, perm)
	            : db_permission_add(cli->conn, uid, perm);
	if (rc == 0 && !cli->context)
		rc = db_permission_context_clear(cli->conn, uid, perm);
	if (rc == -ENOENT && revoke)
		db_permission_context_clear(cli->conn, uid, perm);
	if (rc == -ENOENT && revoke)
		return cli_fail(EXIT_FAILED, "uid %u does not hold %s", (unsigned)uid, perm);
	if (rc == -ENOENT)
		return cli_fail(EXIT_FAILED, "no app with uid %u (app add first)", (unsigned)uid);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "changing permissions: %s", strerror(-rc));
	return EXIT_OK;
}
