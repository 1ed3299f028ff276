/** The few Chrome DevTools Protocol shapes the Node adapter reads. */
export interface RemoteObject {
  type: string;
  subtype?: string;
  className?: string;
  value?: unknown;
  unserializableValue?: string;
  description?: string;
  objectId?: string;
}

export interface CallFrame {
  callFrameId: string;
  functionName: string;
  location: { scriptId: string; lineNumber: number; columnNumber?: number };
  url?: string;
  scopeChain: Array<{ type: string; name?: string; object: RemoteObject }>;
}

export interface PausedEvent {
  callFrames: CallFrame[];
  reason: string;
  hitBreakpoints?: string[];
  data?: RemoteObject;
}

export interface PropertyDescriptor {
  name: string;
  value?: RemoteObject;
  get?: RemoteObject;
}

export interface EvaluateResult {
  result: RemoteObject;
  exceptionDetails?: { text: string; exception?: RemoteObject };
}

export interface BreakpointSet {
  breakpointId: string;
  locations: Array<{ scriptId: string; lineNumber: number; columnNumber?: number }>;
}

/** How a value reads in the Variables view and hovers. */
export function describeRemoteObject(o: RemoteObject): string {
  switch (o.type) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return JSON.stringify(o.value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return o.unserializableValue ?? o.description ?? String(o.value);
    case 'symbol':
      return o.description ?? 'Symbol()';
    case 'object':
      if (o.subtype === 'null') return 'null';
      return o.description ?? o.className ?? 'Object';
    case 'function':
      return o.description?.split('\n')[0] ?? 'function';
    default:
      return o.description ?? String(o.value);
  }
}

/** Objects and functions have children to expand; primitives do not. */
export function isExpandable(o: RemoteObject): boolean {
  return !!o.objectId && o.type === 'object' && o.subtype !== 'null';
}
