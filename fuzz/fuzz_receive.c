/*
 * fuzz_receive.c - the pre-receive hook's input (vault/exchange/receive.c, kluis_receive_check): the
 * `OLD NEW REFNAME` lines git hands a server's hook for a push, judged against a server
 * repository made once at start-up from the seed dossier (fuzz/corpus/bundle), with the seed
 * directie as trust root and the seed keys as the server's keyring. An update the lines name
 * is verified as the hook would (the scratch state lives inside the server repository and is
 * removed after); the server's own refs never move, so each input meets the same server.
 */
#include "fuzz.h"
#include "vault/base/error.h"
#include "vault/exchange/sync.h"

#include <stdarg.h>
#include <string.h>

__attribute__((format(printf, 1, 2))) static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "fuzz: set-up failed: %s\n", cmd);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char srv[128], home[128], trust[64];
	FILE *f;

	snprintf(srv, sizeof(srv), "%s/srv.git", fuzz_dir());
	snprintf(home, sizeof(home), "%s/g", fuzz_dir());
	if (!(f = fopen(KLUIS_FUZZ_DIR "/trust", "r")) || fscanf(f, "%40s", trust) != 1)
		abort();
	fclose(f);
	sh("git clone -q --mirror " KLUIS_FUZZ_DIR "/corpus/bundle/seed-transfer.bundle %s", srv);
	sh("git -C %s config kluis.trust %s", srv, trust);
	sh("git -C %s config kluis.dossier k-seed", srv);
	sh("mkdir -m 700 %s && gpg --batch --quiet --homedir %s --import " KLUIS_FUZZ_DIR "/keys.asc 2>/dev/null", home, home);
	sh("git -C %s config kluis.gnupghome %s", srv, home);
	if (setenv("GIT_DIR", srv, 1) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kluis_receive_result res;
	const char *input = fuzz_guarded(data, size);

	if (!input)
		return 0;
	if (kluis_receive_check(input, size, &res) < 0 && getenv("KLUIS_FUZZ_DEBUG"))
		fprintf(stderr, "refused: %s\n", kluis_error_last());
	kluis_receive_result_dispose(&res);
	return 0;
}
