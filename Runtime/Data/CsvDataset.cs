using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// A numeric CSV file as a <see cref="Dataset"/>: every non-label column is a float feature. Errors are
/// <see cref="InvalidDataException"/>s of the form <c>file.csv:LINE: column N ("name"): problem</c>.
/// </summary>
public sealed class CsvDataset : Dataset
{
    private CsvDataset(float[] features, int featureCount, int[]? labels, float[]? targets, int targetCount, string source,
        IReadOnlyList<string> featureColumns, IReadOnlyList<string> labelColumns)
        : base(features, featureCount, labels, targets, targetCount, source)
    {
        FeatureColumns = featureColumns;
        LabelColumns = labelColumns;
    }

    /// <summary>Header names of the feature columns in order ("column N" without a header).</summary>
    public IReadOnlyList<string> FeatureColumns { get; }

    public IReadOnlyList<string> LabelColumns { get; }

    public static CsvDataset Load(string path, CsvOptions? options = null) =>
        Parse(File.ReadAllText(path), Path.GetFileName(path), options, source: path);

    /// <summary>Parses CSV text; <paramref name="name"/> is the file name used in messages.</summary>
    public static CsvDataset Parse(string text, string name, CsvOptions? options = null, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new CsvOptions();
        char delimiter = options.Delimiter ?? CsvRecords.DetectDelimiter(text);
        List<(int Line, List<string> Fields)> records = CsvRecords.Read(text, delimiter, name).ToList();
        if (records.Count == 0)
            throw new InvalidDataException($"{name}: no rows");

        int columns = records[0].Fields.Count;
        bool hasHeader = options.HasHeader ?? records[0].Fields.Any(f => !TryNumber(f, out _));
        string[] names = hasHeader
            ? records[0].Fields.Select(f => f.Trim()).ToArray()
            : Enumerable.Range(1, columns).Select(c => $"column {c}").ToArray();

        int[] labelColumns = ResolveLabelColumns(options, names, hasHeader, name);
        if (options.LabelKind == CsvLabelKind.Class && labelColumns.Length > 1)
            throw new ArgumentException($"{name}: class labels come from one column, {labelColumns.Length} were named; use CsvLabelKind.Value for several");
        int[] featureColumns = Enumerable.Range(0, columns).Except(labelColumns).ToArray();
        if (featureColumns.Length == 0)
            throw new InvalidDataException($"{name}: every column is a label column; no features remain");

        int rows = records.Count - (hasHeader ? 1 : 0);
        var features = new float[checked(rows * featureColumns.Length)];
        bool classes = options.LabelKind == CsvLabelKind.Class && labelColumns.Length == 1;
        int[]? labels = classes ? new int[rows] : null;
        float[]? targets = !classes && labelColumns.Length > 0 ? new float[checked(rows * labelColumns.Length)] : null;

        for (int r = 0; r < rows; r++)
        {
            (int line, List<string> fields) = records[r + (hasHeader ? 1 : 0)];
            if (fields.Count != columns)
                throw new InvalidDataException(
                    $"{name}:{line}: row has {fields.Count} columns but {(hasHeader ? "the header" : "the first row")} has {columns}");

            for (int f = 0; f < featureColumns.Length; f++)
                features[r * featureColumns.Length + f] = Number(fields, featureColumns[f], line, names, hasHeader, name);
            for (int l = 0; l < labelColumns.Length; l++)
            {
                float value = Number(fields, labelColumns[l], line, names, hasHeader, name);
                if (labels is null)
                {
                    targets![r * labelColumns.Length + l] = value;
                    continue;
                }
                if (value < 0 || value != MathF.Floor(value) || value > int.MaxValue)
                    throw new InvalidDataException(
                        $"{name}:{line}: {Column(labelColumns[l], names, hasHeader)}: {fields[labelColumns[l]].Trim()} is not a class index (a non-negative integer)");
                labels[r] = (int)value;
            }
        }

        return new CsvDataset(features, featureColumns.Length, labels, targets, targets is null ? 0 : labelColumns.Length,
            source ?? name, featureColumns.Select(c => names[c]).ToArray(), labelColumns.Select(c => names[c]).ToArray());
    }

    private static int[] ResolveLabelColumns(CsvOptions options, string[] names, bool hasHeader, string file)
    {
        var result = new List<int>();
        foreach (string label in options.LabelColumns)
        {
            if (!hasHeader)
                throw new ArgumentException($"{file}: label column \"{label}\" is named, but the file has no header");
            int index = Array.IndexOf(names, label);
            if (index < 0)
                throw new ArgumentException($"{file}: no column named \"{label}\"; the columns are {string.Join(", ", names.Select(n => $"\"{n}\""))}");
            result.Add(index);
        }
        foreach (int given in options.LabelColumnIndices)
        {
            int index = given < 0 ? names.Length + given : given;
            if (index < 0 || index >= names.Length)
                throw new ArgumentException($"{file}: label column index {given} is outside the {names.Length} columns");
            result.Add(index);
        }
        return result.Distinct().ToArray();
    }

    private static float Number(List<string> fields, int column, int line, string[] names, bool hasHeader, string file)
    {
        string cell = fields[column];
        if (TryNumber(cell, out float value))
            return value;
        string problem = cell.Trim().Length == 0 ? "empty cell" : $"\"{cell.Trim()}\" is not a number";
        throw new InvalidDataException($"{file}:{line}: {Column(column, names, hasHeader)}: {problem}");
    }

    private static string Column(int column, string[] names, bool hasHeader) =>
        hasHeader ? $"column {column + 1} (\"{names[column]}\")" : $"column {column + 1}";

    private static bool TryNumber(string cell, out float value) =>
        float.TryParse(cell.AsSpan().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
}
