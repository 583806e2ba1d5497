#ifndef ROLLBACK_CHIREDIS_SHIM_H
#define ROLLBACK_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
