#!/bin/sh
# Runs when files change in the trigger directories (given as arguments).
for d in "$@"; do
	echo "hello-sh: greetings changed in $d"
done
exit 0
