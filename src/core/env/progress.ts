/** One line of progress: a step started, finished, or a note; the UI and the CLI render it their way. */
export interface EnvironmentProgress {
  step: 'namespace' | 'dependency' | 'service' | 'note';
  name: string;
  state: 'started' | 'ready' | 'info';
  message: string;
}

export type ProgressSink = (p: EnvironmentProgress) => void;
