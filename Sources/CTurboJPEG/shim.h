#ifndef KASSA_CTURBOJPEG_SHIM_H
#define KASSA_CTURBOJPEG_SHIM_H
#include <turbojpeg.h>
#endif
