// A power-cut simulating VFS for Kassa's durability tests. See include/PowerCutVFS.h.
#include "PowerCutVFS.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// One unsynced change to a tracked file: a write, or a truncation (data == NULL).
typedef struct Change {
    sqlite3_int64 offset;
    int length;
    unsigned char *data;
    struct Change *next;
} Change;

// A tracked file: its path, where its stable content is kept, and its unsynced changes in order.
typedef struct Tracked {
    char *path;
    char *stable;
    Change *first;
    Change *last;
    struct Tracked *next;
} Tracked;

typedef struct {
    sqlite3_file base;
    Tracked *tracked;   // NULL for files that are not tracked (temporary files)
    sqlite3_file real[];  // the default VFS's file, szOsFile bytes
} PowerCutFile;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs *realVFS;
static sqlite3_vfs powerCutVFS;
static Tracked *trackedFiles;
static char planDirectory[4096];
static int64_t *planned;
static int plannedCount;
static int64_t writeCalls;
static int snapshotsTaken;
static uint32_t randomState;

static uint32_t nextRandom(void) {
    randomState ^= randomState << 13;
    randomState ^= randomState >> 17;
    randomState ^= randomState << 5;
    return randomState;
}

static int copyFile(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return errno == ENOENT ? 0 : -1;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) { close(in); return -1; }
    char buffer[65536];
    ssize_t count;
    int result = 0;
    while ((count = read(in, buffer, sizeof buffer)) > 0) {
        if (write(out, buffer, (size_t)count) != count) { result = -1; break; }
    }
    if (count < 0) result = -1;
    close(in);
    close(out);
    return result;
}

static int applyChange(int fd, const Change *change) {
    if (change->data == NULL) return ftruncate(fd, (off_t)change->offset);
    return pwrite(fd, change->data, (size_t)change->length, (off_t)change->offset) == change->length ? 0 : -1;
}

static void freeChanges(Tracked *tracked) {
    Change *change = tracked->first;
    while (change) {
        Change *next = change->next;
        free(change->data);
        free(change);
        change = next;
    }
    tracked->first = tracked->last = NULL;
}

// Called with the lock held: the disk as a power cut now would leave it.
static void takeSnapshot(int index) {
    char folder[4200];
    snprintf(folder, sizeof folder, "%s/snapshot-%d", planDirectory, index);
    mkdir(folder, 0700);
    size_t prefix = strlen(planDirectory);
    for (Tracked *tracked = trackedFiles; tracked; tracked = tracked->next) {
        // Only the planned folder's files: other databases opened through the VFS are another disk's business.
        if (strncmp(tracked->path, planDirectory, prefix) != 0 || tracked->path[prefix] != '/') continue;
        const char *name = strrchr(tracked->path, '/');
        name = name ? name + 1 : tracked->path;
        char target[4400];
        snprintf(target, sizeof target, "%s/%s", folder, name);
        if (access(tracked->stable, F_OK) != 0) continue;
        if (copyFile(tracked->stable, target) != 0) continue;
        int fd = open(target, O_WRONLY | O_CLOEXEC);
        if (fd < 0) continue;
        // Some of the unsynced writes reached the disk, in any order; truncations are all or nothing in order.
        for (Change *change = tracked->first; change; change = change->next) {
            if (change->data == NULL || (nextRandom() & 1)) applyChange(fd, change);
        }
        close(fd);
    }
    snapshotsTaken++;
}

static void beforeWrite(void) {
    writeCalls++;
    for (int i = 0; i < plannedCount; i++) {
        if (planned[i] == writeCalls) takeSnapshot(i);
    }
}

static void record(Tracked *tracked, const void *data, int length, sqlite3_int64 offset) {
    Change *change = calloc(1, sizeof *change);
    if (!change) return;
    change->offset = offset;
    change->length = length;
    if (data) {
        change->data = malloc((size_t)length);
        if (!change->data) { free(change); return; }
        memcpy(change->data, data, (size_t)length);
    }
    if (tracked->last) tracked->last->next = change; else tracked->first = change;
    tracked->last = change;
}

static void makeStable(Tracked *tracked) {
    int fd = open(tracked->stable, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    for (Change *change = tracked->first; change; change = change->next) applyChange(fd, change);
    close(fd);
    freeChanges(tracked);
}

static Tracked *track(const char *path) {
    for (Tracked *tracked = trackedFiles; tracked; tracked = tracked->next) {
        if (strcmp(tracked->path, path) == 0) return tracked;
    }
    Tracked *tracked = calloc(1, sizeof *tracked);
    if (!tracked) return NULL;
    tracked->path = strdup(path);
    size_t length = strlen(path) + sizeof ".stable";
    tracked->stable = malloc(length);
    if (!tracked->path || !tracked->stable) { free(tracked->path); free(tracked->stable); free(tracked); return NULL; }
    snprintf(tracked->stable, length, "%s.stable", path);
    // What is on disk when the file is first opened counts as stable.
    if (copyFile(path, tracked->stable) != 0) unlink(tracked->stable);
    tracked->next = trackedFiles;
    trackedFiles = tracked;
    return tracked;
}

#define REAL(file) (((PowerCutFile *)(file))->real)

static int pcClose(sqlite3_file *file) {
    int rc = REAL(file)->pMethods ? REAL(file)->pMethods->xClose(REAL(file)) : SQLITE_OK;
    return rc;
}

static int pcRead(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    return REAL(file)->pMethods->xRead(REAL(file), buffer, amount, offset);
}

static int pcWrite(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    Tracked *tracked = ((PowerCutFile *)file)->tracked;
    if (tracked) {
        pthread_mutex_lock(&lock);
        beforeWrite();
        record(tracked, buffer, amount, offset);
        pthread_mutex_unlock(&lock);
    }
    return REAL(file)->pMethods->xWrite(REAL(file), buffer, amount, offset);
}

static int pcTruncate(sqlite3_file *file, sqlite3_int64 size) {
    Tracked *tracked = ((PowerCutFile *)file)->tracked;
    if (tracked) {
        pthread_mutex_lock(&lock);
        record(tracked, NULL, 0, size);
        pthread_mutex_unlock(&lock);
    }
    return REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int pcSync(sqlite3_file *file, int flags) {
    int rc = REAL(file)->pMethods->xSync(REAL(file), flags);
    Tracked *tracked = ((PowerCutFile *)file)->tracked;
    if (rc == SQLITE_OK && tracked) {
        pthread_mutex_lock(&lock);
        makeStable(tracked);
        pthread_mutex_unlock(&lock);
    }
    return rc;
}

static int pcFileSize(sqlite3_file *file, sqlite3_int64 *size) { return REAL(file)->pMethods->xFileSize(REAL(file), size); }
static int pcLock(sqlite3_file *file, int level) { return REAL(file)->pMethods->xLock(REAL(file), level); }
static int pcUnlock(sqlite3_file *file, int level) { return REAL(file)->pMethods->xUnlock(REAL(file), level); }
static int pcCheckReservedLock(sqlite3_file *file, int *out) { return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out); }
static int pcFileControl(sqlite3_file *file, int op, void *arg) { return REAL(file)->pMethods->xFileControl(REAL(file), op, arg); }
static int pcSectorSize(sqlite3_file *file) { return REAL(file)->pMethods->xSectorSize(REAL(file)); }
static int pcDeviceCharacteristics(sqlite3_file *file) { return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file)); }
static int pcShmMap(sqlite3_file *file, int page, int size, int extend, void volatile **out) {
    return REAL(file)->pMethods->xShmMap(REAL(file), page, size, extend, out);
}
static int pcShmLock(sqlite3_file *file, int offset, int n, int flags) { return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags); }
static void pcShmBarrier(sqlite3_file *file) { REAL(file)->pMethods->xShmBarrier(REAL(file)); }
static int pcShmUnmap(sqlite3_file *file, int deleteFlag) { return REAL(file)->pMethods->xShmUnmap(REAL(file), deleteFlag); }

// Memory-mapped I/O would bypass xWrite for reads only, but keep it off so every byte goes through the methods above.
static int pcFetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    (void)file; (void)offset; (void)amount;
    *out = NULL;
    return SQLITE_OK;
}
static int pcUnfetch(sqlite3_file *file, sqlite3_int64 offset, void *pointer) { (void)file; (void)offset; (void)pointer; return SQLITE_OK; }

static const sqlite3_io_methods methods = {
    3, pcClose, pcRead, pcWrite, pcTruncate, pcSync, pcFileSize, pcLock, pcUnlock, pcCheckReservedLock, pcFileControl,
    pcSectorSize, pcDeviceCharacteristics, pcShmMap, pcShmLock, pcShmBarrier, pcShmUnmap, pcFetch, pcUnfetch,
};

static int pcOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *outFlags) {
    (void)vfs;
    PowerCutFile *wrapper = (PowerCutFile *)file;
    memset(wrapper, 0, sizeof(PowerCutFile));
    int rc = realVFS->xOpen(realVFS, name, wrapper->real, flags, outFlags);
    if (rc != SQLITE_OK) {
        wrapper->base.pMethods = NULL;
        return rc;
    }
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL))) {
        pthread_mutex_lock(&lock);
        wrapper->tracked = track(name);
        pthread_mutex_unlock(&lock);
    }
    wrapper->base.pMethods = &methods;
    return SQLITE_OK;
}

static int pcDelete(sqlite3_vfs *vfs, const char *name, int syncDirectory) {
    (void)vfs;
    int rc = realVFS->xDelete(realVFS, name, syncDirectory);
    pthread_mutex_lock(&lock);
    for (Tracked *tracked = trackedFiles; tracked; tracked = tracked->next) {
        if (strcmp(tracked->path, name) == 0) {
            // Treated as durable: SQLite deletes a WAL only after checkpointing it into the synced database.
            freeChanges(tracked);
            unlink(tracked->stable);
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pcAccess(sqlite3_vfs *vfs, const char *name, int flags, int *out) { (void)vfs; return realVFS->xAccess(realVFS, name, flags, out); }
static int pcFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *out) { (void)vfs; return realVFS->xFullPathname(realVFS, name, size, out); }
static void *pcDlOpen(sqlite3_vfs *vfs, const char *name) { (void)vfs; return realVFS->xDlOpen(realVFS, name); }
static void pcDlError(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; realVFS->xDlError(realVFS, size, out); }
static void (*pcDlSym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) { (void)vfs; return realVFS->xDlSym(realVFS, handle, symbol); }
static void pcDlClose(sqlite3_vfs *vfs, void *handle) { (void)vfs; realVFS->xDlClose(realVFS, handle); }
static int pcRandomness(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; return realVFS->xRandomness(realVFS, size, out); }
static int pcSleep(sqlite3_vfs *vfs, int microseconds) { (void)vfs; return realVFS->xSleep(realVFS, microseconds); }
static int pcCurrentTime(sqlite3_vfs *vfs, double *out) { (void)vfs; return realVFS->xCurrentTime(realVFS, out); }
static int pcGetLastError(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; return realVFS->xGetLastError(realVFS, size, out); }
static int pcCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *out) { (void)vfs; return realVFS->xCurrentTimeInt64(realVFS, out); }

int powercut_register(void) {
    pthread_mutex_lock(&lock);
    int rc = SQLITE_OK;
    if (!realVFS) {
        realVFS = sqlite3_vfs_find(NULL);
        if (!realVFS) {
            rc = SQLITE_ERROR;
        } else {
            powerCutVFS = (sqlite3_vfs){
                .iVersion = 2, .szOsFile = (int)sizeof(PowerCutFile) + realVFS->szOsFile, .mxPathname = realVFS->mxPathname,
                .zName = "powercut", .xOpen = pcOpen, .xDelete = pcDelete, .xAccess = pcAccess, .xFullPathname = pcFullPathname,
                .xDlOpen = pcDlOpen, .xDlError = pcDlError, .xDlSym = pcDlSym, .xDlClose = pcDlClose, .xRandomness = pcRandomness,
                .xSleep = pcSleep, .xCurrentTime = pcCurrentTime, .xGetLastError = pcGetLastError, .xCurrentTimeInt64 = pcCurrentTimeInt64,
            };
            rc = sqlite3_vfs_register(&powerCutVFS, 0);
            if (rc != SQLITE_OK) realVFS = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void powercut_plan(const char *directory, const int64_t *at, int count, uint32_t seed) {
    pthread_mutex_lock(&lock);
    snprintf(planDirectory, sizeof planDirectory, "%s", directory);
    free(planned);
    planned = count > 0 ? malloc(sizeof(int64_t) * (size_t)count) : NULL;
    plannedCount = planned ? count : 0;
    if (planned) memcpy(planned, at, sizeof(int64_t) * (size_t)count);
    writeCalls = 0;
    snapshotsTaken = 0;
    randomState = seed ? seed : 1;
    pthread_mutex_unlock(&lock);
}

int64_t powercut_writes(void) {
    pthread_mutex_lock(&lock);
    int64_t count = writeCalls;
    pthread_mutex_unlock(&lock);
    return count;
}

int powercut_snapshots(void) {
    pthread_mutex_lock(&lock);
    int count = snapshotsTaken;
    pthread_mutex_unlock(&lock);
    return count;
}

void powercut_reset(void) {
    pthread_mutex_lock(&lock);
    while (trackedFiles) {
        Tracked *next = trackedFiles->next;
        freeChanges(trackedFiles);
        unlink(trackedFiles->stable);
        free(trackedFiles->path);
        free(trackedFiles->stable);
        free(trackedFiles);
        trackedFiles = next;
    }
    pthread_mutex_unlock(&lock);
}
