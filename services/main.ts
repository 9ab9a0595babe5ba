// Entry point of the services image: `node services/main.ts <service>`.
import { errorMessage, runService, type ServiceDefinition } from './consumer/index.ts';
import { notificationService } from './notification/service.ts';
import { orderService } from './order/service.ts';
import { paymentService } from './payment/service.ts';

export const SERVICES: Readonly<Record<string, ServiceDefinition>> = {
  [orderService.name]: orderService,
  [paymentService.name]: paymentService,
  [notificationService.name]: notificationService,
};

const name = process.argv[2] ?? '';
const service = SERVICES[name];
if (!service) {
  const usage = `usage: main.ts <${Object.keys(SERVICES).join('|')}>\n`;
  const help = name === '--help' || name === '-h';
  (help ? process.stdout : process.stderr).write(usage);
  process.exit(help ? 0 : 2);
}
try {
  await runService(service);
} catch (error) {
  // The logger may not exist yet (a bad environment): one JSON line, like every other.
  process.stdout.write(
    `${JSON.stringify({
      level: 'fatal',
      time: new Date().toISOString(),
      service: name,
      msg: `${name} could not start: ${errorMessage(error)}`,
    })}\n`,
  );
  process.exit(1);
}
