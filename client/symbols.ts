/** Internal methods Future and Channel call on their Client; not part of the public surface. */
export const kAttach = Symbol('sluice.attach');
export const kDetach = Symbol('sluice.detach');
export const kValue = Symbol('sluice.value');
export const kCancel = Symbol('sluice.cancel');
export const kAppend = Symbol('sluice.append');
export const kConfigure = Symbol('sluice.configure');
export const kCall = Symbol('sluice.call');
export const kRequest = Symbol('sluice.request');
export const kSession = Symbol('sluice.session');
export const kSubmission = Symbol('sluice.submission');
export const kStream = Symbol('sluice.stream');
