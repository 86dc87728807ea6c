#ifndef LEDGER_CLIBPQ_SHIM_H
#define LEDGER_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
