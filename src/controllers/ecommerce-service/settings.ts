// What the EcommerceService controller needs beyond the settings every controller shares, read
// from the operator's environment.
import type { OperatorSettings } from '../shared/settings.ts';

export interface ServiceSettings extends OperatorSettings {
  /**
   * AWS_ENDPOINT_URL of the operator, when set: given to the pods as AWS_ENDPOINT_URL_SQS and
   * AWS_ENDPOINT_URL_SNS only (never as AWS_ENDPOINT_URL), and to KEDA's triggers.
   */
  awsEndpoint?: string | undefined;
  /** PUBSUB_OIDC_PROVIDER_ARN: the cluster's IAM OIDC provider, for the IRSA trust policy. */
  oidcProviderArn?: string | undefined;
}

export const SERVICE_SETTINGS_ENV = {
  awsEndpoint: 'AWS_ENDPOINT_URL',
  oidcProviderArn: 'PUBSUB_OIDC_PROVIDER_ARN',
} as const;

const OIDC_PROVIDER_ARN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:oidc-provider\/[!-~]+$/;

/** The endpoint override and OIDC provider from the environment; throws on a malformed provider ARN. */
export function serviceSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Pick<ServiceSettings, 'awsEndpoint' | 'oidcProviderArn'> {
  const endpoint = env[SERVICE_SETTINGS_ENV.awsEndpoint]?.trim() || undefined;
  const provider = env[SERVICE_SETTINGS_ENV.oidcProviderArn]?.trim() || undefined;
  if (provider !== undefined && !OIDC_PROVIDER_ARN.test(provider)) {
    throw new Error(
      `${SERVICE_SETTINGS_ENV.oidcProviderArn} (${JSON.stringify(provider)}): must be an IAM OIDC provider ARN such as arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE`,
    );
  }
  return { awsEndpoint: endpoint, oidcProviderArn: provider };
}
