#ifndef ROLLBACK_CZIP_SHIM_H
#define ROLLBACK_CZIP_SHIM_H
#include <zip.h>
#endif
