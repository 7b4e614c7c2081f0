using System.Collections.Generic;

namespace ModelDsl.Runtime.Data;

public enum CsvLabelKind
{
    /// <summary>One label column of non-negative integers: class indices, loaded into <see cref="Dataset.Labels"/>.</summary>
    Class,

    /// <summary>Any number of label columns of numbers, loaded into <see cref="Dataset.Targets"/>.</summary>
    Value,
}

/// <summary>How <see cref="CsvDataset"/> reads a file. Numbers are always parsed with the invariant culture (1.5, not 1,5).</summary>
public sealed class CsvOptions
{
    /// <summary>',' or ';'; null detects it from the first line (whichever occurs more often outside quotes).</summary>
    public char? Delimiter { get; init; }

    /// <summary>Null: the first row is a header when any of its cells is not a number.</summary>
    public bool? HasHeader { get; init; }

    /// <summary>Label columns by header name (needs a header).</summary>
    public IReadOnlyList<string> LabelColumns { get; init; } = [];

    /// <summary>Label columns by 0-based index; negative counts from the end (-1 is the last column).</summary>
    public IReadOnlyList<int> LabelColumnIndices { get; init; } = [];

    public CsvLabelKind LabelKind { get; init; } = CsvLabelKind.Class;
}
