#!/bin/bash
# Exits 0 once the broker on PORT answers AMQP 0-9-1's protocol header with Connection.Start (a method
# frame on channel 0: 01 00 00, the size, then class 10 method 10), not merely once it listens:
#   amqp-ready.sh PORT [HOST]   (HOST: 127.0.0.1, the broker's own health check)
# Through bash's /dev/tcp: rabbitmq-diagnostics boots an Erlang VM per call (src/services/rabbitmq.ts).
exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1" && printf "AMQP\x00\x00\x09\x01" >&3 && [[ $(od -An -tx1 -N11 <&3 | tr -d " \n") == 010000????????000a000a ]]
