// The part of the isolated-vm API Plexus uses (5.x, 6.x and 7.x share it), declared here so the
// project typechecks where the optional native module is not installed.

export interface IvmReference<T = unknown> {
  apply(receiver: unknown, args: unknown[], options?: { timeout?: number; result?: { copy?: boolean; reference?: boolean } }): Promise<T>;
  applySync(receiver: unknown, args: unknown[], options?: { timeout?: number; result?: { copy?: boolean; reference?: boolean } }): T;
  release(): void;
}

export interface IvmContext {
  release(): void;
}

export interface IvmScript {
  run(context: IvmContext, options?: { reference?: boolean; timeout?: number }): Promise<unknown>;
  release(): void;
}

export interface IvmIsolate {
  readonly isDisposed: boolean;
  createContext(): Promise<IvmContext>;
  compileScript(code: string, options?: { filename?: string }): Promise<IvmScript>;
  compileScriptSync(code: string, options?: { filename?: string }): IvmScript;
  getHeapStatisticsSync(): { used_heap_size: number; heap_size_limit: number };
  dispose(): void;
}

export interface IvmModule {
  Isolate: new (options: { memoryLimit: number; onCatastrophicError?: (message: string) => void }) => IvmIsolate;
  Callback: new (fn: (...args: any[]) => unknown) => unknown;
  Reference: new (value: unknown) => IvmReference;
}
