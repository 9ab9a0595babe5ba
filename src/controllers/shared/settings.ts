/** What every controller needs to know about the operator it runs in. */
export interface OperatorSettings {
  /** Written into the ownership tags, so two clusters sharing an AWS account never touch each other's resources. */
  clusterName: string;
  /** First part of every derived physical name; the operator's IAM policy is scoped by it. */
  namePrefix: string;
  /** AWS region the resources live in. */
  region: string;
}

/** The finalizer every kind that owns AWS resources carries. */
export const FINALIZER = 'pubsub.ecommerce.io/cleanup';
