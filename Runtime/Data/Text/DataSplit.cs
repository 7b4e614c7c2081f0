namespace ModelDsl.Runtime.Data;

/// <summary>Which part of a data set an item belongs to.</summary>
public enum DataSplit
{
    Train,
    Validation,
    Test,
}
