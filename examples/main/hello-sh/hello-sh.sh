#!/bin/sh
# hello-sh: print a greeting, optionally from /etc/hello-sh.conf.
greeting="Hello"
[ -r /etc/hello-sh.conf ] && . /etc/hello-sh.conf
printf '%s, %s\n' "$greeting" "${1:-world}"
