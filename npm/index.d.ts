/** The absolute path of the packaged semlite.so, for `db.loadExtension()`. */
export declare function getLoadablePath(): string;

/** Loads semlite into a connection: any object with `loadExtension(path)`. */
export declare function load(db: { loadExtension(file: string): unknown }): void;
