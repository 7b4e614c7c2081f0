using ModelDsl.Generator.Helpers;

namespace ModelDsl.Generator.Model
{
    /// <summary>
    /// Everything the generator needs from one <c>.model</c> file, as equatable data: the models that checked
    /// without errors (one C# class each) and every diagnostic. Nothing from Roslyn's symbols, syntax or the
    /// ModelDsl front end is kept, so an unchanged file is a cache hit.
    /// </summary>
    public sealed record ModelFileSpec
    {
        /// <summary>The file name only (<c>fashion_mlp.model</c>): what generated code and comments name.</summary>
        public required string FileName { get; init; }

        public required EquatableArray<ModelSpec> Models { get; init; }

        public required EquatableArray<DiagnosticInfo> Diagnostics { get; init; }
    }
}
