#ifndef POWER_CUT_VFS_H
#define POWER_CUT_VFS_H

#include <stdint.h>

/// A SQLite VFS for tests that simulates power cuts. Registered as "powercut" (never as the default), it passes every
/// call to the default VFS and, for each database and WAL file opened through it, keeps what has reached "stable
/// storage": a copy of the file that only `xSync` updates, with the writes made since the last sync held back.
///
/// At chosen write calls (`powercut_plan`) it takes a snapshot — the state a power cut at that instant would leave on
/// disk: each file's synced content plus a random subset of its unsynced writes (a disk may have written some of them,
/// in any order) — into `DIR/snapshot-K/`, named like the originals.
///
/// Open a database through it with a URI: `file:/path/kassa.sqlite?vfs=powercut` (Debian's SQLite has URIs on).

/// Registers the VFS once; returns SQLITE_OK.
int powercut_register(void);

/// Plans snapshots: before write call number `at[i]` (counted from 1 over all tracked files), the files under
/// `directory` go into `directory`/snapshot-i.
/// `seed` picks which unsynced writes each snapshot keeps. Resets the write counter and forgets earlier plans.
void powercut_plan(const char *directory, const int64_t *at, int count, uint32_t seed);

/// Write calls seen since the last plan.
int64_t powercut_writes(void);

/// Snapshots taken since the last plan.
int powercut_snapshots(void);

/// Forgets every tracked file (call after the test closed its connections).
void powercut_reset(void);

#endif
