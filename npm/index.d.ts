/** The absolute path of the packaged semlite.so, for `db.loadExtension()`. */
export declare function getLoadablePath(): string;

/** Loads semlite into a connection: any object with `loadExtension(path)`. */
export declare function load(db: { loadExtension(file: string): unknown }): void;

/** A vector as the little-endian float32 BLOB `embed()` returns and sqlite-vec reads. */
export declare function serializeFloat32(vector: ArrayLike<number>): Buffer;

/** Integers in [-128, 127] as an int8 BLOB (for `vec_int8()`). */
export declare function serializeInt8(vector: ArrayLike<number>): Buffer;

interface Batched {
  batchSize?: number;
  /** Called after each batch with the texts done so far and their total. */
  progress?: (done: number, total: number) => void;
}
type Db = { prepare(sql: string): { all(...params: unknown[]): any[] } };

/** One float32 BLOB per text (null for null), through `embed_each` one batch at a time. */
export declare function embedMany(db: Db, model: string, texts: (string | null)[], options?: Batched): Generator<Buffer | null>;

/** One cross-encoder score per document, through `rerank_each` one batch at a time. */
export declare function rerankMany(db: Db, model: string, query: string, docs: (string | null)[], options?: Batched): Generator<number | null>;
