/*
 * The configuration-time file reader: the key files' checks, shared by the
 * signer and the schema files the glue loads.
 */

#define _POSIX_C_SOURCE  200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg_error.h"
#include "sg_file.h"


static void sg_file_discard(unsigned char *buf, size_t len);


unsigned char *
sg_file_read(const char *path, const char *what, sg_file_kind_t kind,
    size_t max, size_t *len, char *errbuf, size_t errlen)
{
    int             fd, err;
    uid_t           euid;
    size_t          size;
    mode_t          forbidden;
    ssize_t         n;
    struct stat     st;
    unsigned char  *buf;

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }

    /* O_NONBLOCK: a FIFO must be refused, not wait for a writer */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        sg_error_format(errbuf, errlen, "cannot open %s \"%s\": %s",
                        what, path, strerror(errno));
        return NULL;
    }

    /* fstat(): the checks are about the file opened, not what the path
       names a moment later */
    if (fstat(fd, &st) == -1) {
        err = errno;
        sg_error_format(errbuf, errlen, "cannot stat %s \"%s\": %s",
                        what, path, strerror(err));
        close(fd);
        return NULL;
    }

    if (!S_ISREG(st.st_mode)) {
        sg_error_format(errbuf, errlen, "%s \"%s\" is not a regular file",
                        what, path);
        close(fd);
        return NULL;
    }

    /*
     * The owner can chmod the file or rewrite it whatever its mode: owned by
     * the worker user (nobody, www-data), a key is readable by every worker,
     * which is what loading it in the master is there to prevent, and a
     * schema can be loosened by whoever runs as that user.
     */
    euid = geteuid();

    if (st.st_uid != 0 && st.st_uid != euid) {
        if (euid == 0) {
            sg_error_format(errbuf, errlen,
                            "%s \"%s\" is owned by uid %lu: only root may "
                            "own it; chown root it",
                            what, path, (unsigned long) st.st_uid);

        } else {
            sg_error_format(errbuf, errlen,
                            "%s \"%s\" is owned by uid %lu: only root or "
                            "uid %lu, the user nginx runs as, may own it",
                            what, path, (unsigned long) st.st_uid,
                            (unsigned long) euid);
        }

        close(fd);
        return NULL;
    }

    /* as ssh does: a key others can read is a leaked key; a rule others
       can write is no rule */
    forbidden = (kind == SG_FILE_SECRET) ? 077 : 022;

    if ((st.st_mode & forbidden) != 0) {
        sg_error_format(errbuf, errlen,
                        (kind == SG_FILE_SECRET)
                        ? "%s \"%s\" has permissions %04o: group or others "
                          "can access it; chmod 600 it"
                        : "%s \"%s\" has permissions %04o: group or others "
                          "can write it; chmod 644 it",
                        what, path, (unsigned) (st.st_mode & 07777));
        close(fd);
        return NULL;
    }

    if (st.st_size < 0 || (unsigned long long) st.st_size > max) {
        sg_error_format(errbuf, errlen, "%s \"%s\" is larger than %zu bytes",
                        what, path, max);
        close(fd);
        return NULL;
    }

    /* one spare byte tells a file that grew past the limit */
    buf = malloc(max + 1);
    if (buf == NULL) {
        sg_error_format(errbuf, errlen, "cannot read %s \"%s\": %s",
                        what, path, strerror(ENOMEM));
        close(fd);
        return NULL;
    }

    size = 0;

    while (size < max + 1) {
        n = read(fd, buf + size, max + 1 - size);

        if (n == 0) {
            break;
        }

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            err = errno;
            sg_error_format(errbuf, errlen, "cannot read %s \"%s\": %s",
                            what, path, strerror(err));
            sg_file_discard(buf, size);
            close(fd);
            return NULL;
        }

        size += (size_t) n;
    }

    close(fd);

    if (size > max) {
        sg_error_format(errbuf, errlen, "%s \"%s\" is larger than %zu bytes",
                        what, path, max);
        sg_file_discard(buf, size);
        return NULL;
    }

    /* lets the caller search it as a string (PEM labels) */
    buf[size] = '\0';
    *len = size;

    return buf;
}


/* what was read of a refused key file must not linger in freed memory */

static void
sg_file_discard(unsigned char *buf, size_t len)
{
    volatile unsigned char  *p;

    for (p = buf; len > 0; len--) {
        *p++ = 0;
    }

    free(buf);
}
