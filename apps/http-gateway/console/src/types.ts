/** The shapes the console reads from the gateway (see the OpenAPI document at /openapi.json). */
export interface Device {
  id: string;
  userId: string;
  provider: string;
  app: string;
  environment: string;
  pushKind: string;
  format: string;
  pushKey?: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeviceSeen {
  status: string;
  at: string;
  detail?: string;
  lastDeliveredAt?: string;
}

export interface Attempt {
  attempt: number;
  at: string;
  latencyMs: number;
  outcome: { kind: string; reason?: string; providerId?: string; retryAfterMs?: number };
}

export interface DeviceDelivery {
  bindingId: string;
  provider: string;
  app: string;
  format: string;
  status: string;
  attempts: Attempt[];
  detail?: string;
  updatedAt: string;
}

export interface Report {
  notificationId: string;
  recipient: string;
  type: string;
  acceptedAt: string;
  deadline: string;
  status: string;
  suppressedReason?: string;
  devices: DeviceDelivery[];
  completedAt?: string;
}

export interface ConsoleEvent {
  kind: string;
  notificationId: string;
  recipient: string;
  callId?: string;
  bindingId?: string;
  provider?: string;
  status?: string;
  outcome?: string;
  reason?: string;
  providerId?: string;
  latencyMs?: number;
  attempt?: number;
  at: string;
}

export interface Stats {
  windowMinutes: number;
  queueDepth: number | null;
  outcomes: { minute: number; provider: string; outcomes: Record<string, number> }[];
  latency: {
    samples: number;
    endToEnd: Percentiles;
    provider: Percentiles;
  };
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}
