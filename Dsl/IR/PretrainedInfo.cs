using System.Collections.Generic;
using System.Linq;
using ModelDsl.Text;

namespace ModelDsl.IR
{
    /// <summary>Where one parameter's values come from in a pretrained checkpoint, captures filled in.</summary>
    public abstract record MapSource;

    /// <summary>The checkpoint tensor <see cref="Name"/>.</summary>
    public sealed record MapTensor(string Name) : MapSource
    {
        public override string ToString() => Name;
    }

    /// <summary><c>transpose(source)</c>: a 2-D source with its axes swapped.</summary>
    public sealed record MapTranspose(MapSource Source) : MapSource
    {
        public override string ToString() => $"transpose({Source})";
    }

    /// <summary><c>concat(a, b, ..., axis=Axis)</c>.</summary>
    public sealed record MapConcat(int Axis, IReadOnlyList<MapSource> Sources) : MapSource
    {
        public override string ToString() => $"concat({string.Join(", ", Sources.Select(s => s.ToString()))}, axis={Axis})";
    }

    /// <summary>One parameter and its source; <see cref="Span"/> is the map entry, or null when the parameter reads its own name.</summary>
    public sealed record PretrainedEntry(ParameterInfo Parameter, MapSource Source, TextSpan? Span);

    /// <summary>
    /// A model's <c>pretrained</c> declaration, resolved: the file (relative to the .model file; null when given at run
    /// time) and one entry per parameter, in the model's parameter order.
    /// </summary>
    public sealed record PretrainedInfo(string? File, IReadOnlyList<PretrainedEntry> Entries, TextSpan Span);
}
