namespace ModelDsl.Runtime;

// PLACEHOLDER: the generator issue's helper defines the model description types here.
internal static class Placeholder { }
