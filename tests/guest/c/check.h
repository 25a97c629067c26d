/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The checkers' output for the guest's C programs, as bochsfb-check prints it: one
 * "ok   name" or "FAIL name: why" line per check, then "N passed, M failed".
 */
#ifndef BOCHSFB_CHECK_H
#define BOCHSFB_CHECK_H

#include <stdio.h>

static int passed, failed;

/* Prints the check's line; returns `ok`. */
static int check(const char *name, int ok, const char *why)
{
	if (ok) {
		printf("ok   %s\n", name);
		passed++;
	} else {
		printf("FAIL %s: %s\n", name, why);
		failed++;
	}
	return ok;
}

/* Prints the totals; the exit status: 0 if every check passed. */
static int finish(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
