/**
 * BullMQ refuses custom ids that contain ':' or read as integers; DeliveryJob ids may hold both
 * (SIP Call-IDs, numeric tenants). The mapping is reversible and keeps ids readable in Redis.
 */
export function bullJobId(id: string): string {
  return `j/${id.replace(/%/g, '%25').replace(/:/g, '%3A')}`;
}
