/*
** version.h: semlite's version, the one place it is written. semlite_version() returns
** it; npm/package.json carries the same string and `make test-npm` checks they agree.
*/
#ifndef SEMLITE_VERSION_H
#define SEMLITE_VERSION_H

#define SEMLITE_VERSION "0.1.0"

#endif
