/**
 * Checkpoints without Python: read a torch.save file (a Uint8Array; the CLI and the server read the file) into
 * inert data, derive its state_dict as the framework's loader would, and say what else it holds. Pure: no IO, no
 * node modules, nothing from the file is ever executed. Every entry point returns a value or a typed WeightsError.
 *
 *   const ckpt = readCheckpoint(bytes);            // Result<Checkpoint>
 *   const sd = stateDictOf(ckpt.value);            // Result<{ source, moduleClass, entries: [{ key, shape, dtype }] }>
 *   const info = checkpointInfo(ckpt.value);       // Result<{ model: { yaml, nc, names, ... }, checkpoint: { date, ... } }>
 *
 * Libraries: zip.ts reads the container itself and uses fflate only to inflate a compressed data.pkl (bounded);
 * pickle.ts is a restricted unpickler written for this. Both files say why at their top.
 */
export { WeightsError, type Result, type WeightsErrorCode } from './errors.ts';
export { PyBytes, PyDict, PyFloat, PyGlobal, PyList, PyObject, PySet, PyTuple, unsafeGlobal, type PyValue } from './pickle.ts';
export { DEFAULT_LIMITS, PyStorage, PyTensor, readCheckpoint, type Checkpoint, type ReadLimits, type ReadOptions } from './torch.ts';
export {
  checkpointInfo,
  stateDictOf,
  toPlain,
  type CheckpointEntryRule,
  type CheckpointInfo,
  type CheckpointStateDict,
  type Plain,
  type StateDictEntry,
} from './stateDict.ts';
