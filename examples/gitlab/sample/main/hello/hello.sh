#!/bin/sh
# hello: greets whoever runs it.
echo "Hello, ${1:-world}!"
