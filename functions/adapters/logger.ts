/** A logger that says nothing: for tests and tools that drive the core directly. */
import type { Logger } from '../ports';

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
