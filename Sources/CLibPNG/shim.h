#ifndef KASSA_CLIBPNG_SHIM_H
#define KASSA_CLIBPNG_SHIM_H
#include <png.h>
#endif
