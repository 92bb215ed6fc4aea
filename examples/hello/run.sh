#!/bin/sh
cat /srv/hello.txt
