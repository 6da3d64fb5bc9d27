/*
 * devices/chardev_ids.c - named character backends (-chardev ...,id=ID):
 * the frontend registers each one it opens; boards find them by id when a
 * device names one (virtconsole,chardev=ID).
 */
#include <errno.h>
#include <string.h>

#include "devices/bus.h"

#define MAX_CHARDEVS 16

static struct {
    char id[64];
    struct chardev *chr;
} table[MAX_CHARDEVS];
static int count;

int chardev_register(const char *id, struct chardev *chr)
{
    if (!id || !*id || strlen(id) >= sizeof(table[0].id))
        return -EINVAL;
    if (chardev_find(id))
        return -EEXIST;
    if (count == MAX_CHARDEVS)
        return -ENOSPC;
    strcpy(table[count].id, id);
    table[count].chr = chr;
    count++;
    return 0;
}

struct chardev *chardev_find(const char *id)
{
    for (int i = 0; i < count; i++)
        if (!strcmp(table[i].id, id))
            return table[i].chr;
    return NULL;
}
