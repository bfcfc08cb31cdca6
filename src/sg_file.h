/*
 * Reads the small files the master loads at configuration time (keys,
 * passphrases, schemas), refusing a file someone else could have changed.
 */

#ifndef SG_FILE_H
#define SG_FILE_H

#include <stddef.h>


typedef enum {
    SG_FILE_SECRET = 0,     /* key material: group and others may not even
                               read it */
    SG_FILE_RULES           /* rules (schemas): anyone may read it, only its
                               owner may write it */
} sg_file_kind_t;


/*
 * Reads the whole file at path through one descriptor.  Refuses a file that
 * is not a regular file, that is owned by anyone but root or the effective
 * user of the caller (the master's), that group or others can write (or,
 * for SG_FILE_SECRET, access at all), or that is larger than max bytes.
 * Returns a malloc()ed buffer of *len bytes followed by a NUL (the caller
 * frees it; a secret's caller wipes it first), or NULL with a message
 * naming "what" and the path in errbuf (never the file's content).
 */
unsigned char *sg_file_read(const char *path, const char *what,
    sg_file_kind_t kind, size_t max, size_t *len, char *errbuf,
    size_t errlen);


#endif /* SG_FILE_H */
