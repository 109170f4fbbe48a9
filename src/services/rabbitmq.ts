import { dag, Secret } from "@dagger.io/dagger";

import { ServiceSpec } from "./service.js";

export interface RabbitmqOptions {
  image: string;
  /** Password of the `celery` user Pycroft's broker URIs log in as. */
  password: Secret;
}

/**
 * Ready once the broker answers an AMQP 0-9-1 protocol header with Connection.Start (a method frame on
 * channel 0: 01 00 00, the size, then class 10 method 10). RabbitMQ opens its listeners last in its
 * boot, after it has made the default user, so this is the moment a client can log in. Asked through
 * bash's /dev/tcp: `rabbitmq-diagnostics` boots an Erlang VM per call, two a second, which took CPU
 * from the broker's own boot (and keycloak's) on two cores.
 */
export const AMQP_READY = `bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672 && printf "AMQP\\x00\\x00\\x09\\x01" >&3 && [[ $(od -An -tx1 -N11 <&3 | tr -d " \\n") == 010000????????000a000a ]]'`;

/** RabbitMQ as Pycroft's `mq` service, the Celery broker. */
export function rabbitmq(o: RabbitmqOptions): ServiceSpec {
  return {
    host: "mq",
    container: dag
      .container()
      .from(o.image)
      .withEnvVariable("RABBITMQ_DEFAULT_USER", "celery")
      .withSecretVariable("RABBITMQ_DEFAULT_PASS", o.password),
    command: ["docker-entrypoint.sh", "rabbitmq-server"],
    port: 5672,
    dataDirs: ["/var/lib/rabbitmq"],
    ready: AMQP_READY,
  };
}
