using System.Globalization;

namespace IntegrityVolume.Core.Arrays;

/// <summary>One member of an md array as sysfs shows it (/sys/block/mdX/md/dev-NAME/): its role and data offset.</summary>
/// <param name="KernelName">The member's kernel name (dm-3, loop0, sdb1).</param>
/// <param name="Slot">Its raid slot (0-based role in the layout); null for a spare or a faulty member ("none").</param>
/// <param name="DataOffset">Sectors before the array's data on this member (md's data_offset: superblock, bitmap, reserve).</param>
public sealed record MdMember(string KernelName, int? Slot, ulong DataOffset);

/// <summary>
/// The layout of an md array (/sys/block/mdX/md: level, layout, chunk_size, raid_disks, component_size and the
/// members' slot and offset) and the map from a member's sector to the array sector it holds, as the kernel places
/// them: raid1 (mirror), raid10 near copies (raid10_find_phys), raid4/5/6 with every layout of raid5_compute_sector
/// except the DDF rotating ones.
/// </summary>
public sealed record MdGeometry
{
    /// <summary>Kernel name of the array (md127).</summary>
    public required string Array { get; init; }
    /// <summary>raid1, raid4, raid5, raid6 or raid10 (the level file).</summary>
    public required string Level { get; init; }
    /// <summary>The layout number (raid5/6: the ALGORITHM_* value; raid10: near | far &lt;&lt; 8 | offset &lt;&lt; 16).</summary>
    public required int Layout { get; init; }
    /// <summary>Chunk size in sectors (0 for raid1).</summary>
    public required ulong ChunkSectors { get; init; }
    public required int RaidDisks { get; init; }
    /// <summary>Sectors of each member used for the array's data (component_size, after the data offset).</summary>
    public required ulong ComponentSectors { get; init; }
    public required IReadOnlyList<MdMember> Members { get; init; }

    // raid5.h ALGORITHM_* values.
    private const int LeftAsymmetric = 0, RightAsymmetric = 1, LeftSymmetric = 2, RightSymmetric = 3, Parity0 = 4, ParityN = 5;
    private const int LeftAsymmetric6 = 16, RightAsymmetric6 = 17, LeftSymmetric6 = 18, RightSymmetric6 = 19, Parity06 = 20;

    /// <summary>Parity members per stripe: 1 for raid4/5, 2 for raid6, else 0.</summary>
    public int ParityDisks => Level switch { "raid4" or "raid5" => 1, "raid6" => 2, _ => 0 };

    /// <summary>Members holding data in each stripe (raid4/5/6), or the distinct copies' width (raid10).</summary>
    public int DataDisks => Level switch
    {
        "raid1" => 1,
        "raid10" => RaidDisks / NearCopies,
        _ => RaidDisks - ParityDisks,
    };

    private int NearCopies => Layout & 0xff;

    /// <summary>Sectors of the array (md's array size for these levels, from the component size).</summary>
    public ulong ArraySectors => Level switch
    {
        "raid1" => ComponentSectors,
        "raid10" => ComponentSectors / ChunkSectors * (ulong)RaidDisks / (ulong)NearCopies * ChunkSectors,
        _ => ComponentSectors / ChunkSectors * ChunkSectors * (ulong)DataDisks,
    };

    /// <summary>md's name for the layout (mdadm --detail's words).</summary>
    public string LayoutName => Level switch
    {
        "raid4" or "raid5" or "raid6" => Layout switch
        {
            LeftAsymmetric => "left-asymmetric", RightAsymmetric => "right-asymmetric", LeftSymmetric => "left-symmetric",
            RightSymmetric => "right-symmetric", Parity0 => "parity-first", ParityN => "parity-last",
            LeftAsymmetric6 => "left-asymmetric-6", RightAsymmetric6 => "right-asymmetric-6", LeftSymmetric6 => "left-symmetric-6",
            RightSymmetric6 => "right-symmetric-6", Parity06 => "parity-first-6",
            _ => $"layout {Layout}",
        },
        "raid10" => $"near={NearCopies}" + ((Layout >> 8 & 0xff) > 1 ? $" far={Layout >> 8 & 0xff}" : "") + ((Layout & 0x10000) != 0 ? " offset" : ""),
        _ => "mirror",
    };

    /// <summary>Reads the geometry of array <paramref name="array"/> (md127) from sysfs under <paramref name="sysRoot"/>.</summary>
    public static MdGeometry Read(string array, string sysRoot = "/sys")
    {
        string md = Path.Combine(sysRoot, "block", array, "md");
        if (!Directory.Exists(md))
            throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{array}: no md array of that name ({md} is missing).", array);
        string Get(string name) =>
            MdSysfs.Read(md, name)?.Trim() ?? throw Unsupported(array, $"sysfs has no md/{name}");
        ulong Num(string name, string text) =>
            ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v
                : throw Unsupported(array, $"md/{name} reads '{text}', not a number");

        string level = Get("level");
        string reshape = MdSysfs.Read(md, "reshape_position")?.Trim() ?? "none";
        if (reshape != "none")
            throw Unsupported(array, $"it is being reshaped (reshape_position {reshape}): sectors move between the old and the new layout");
        var members = new List<MdMember>();
        foreach (string dir in Directory.GetDirectories(md, "dev-*").Order(StringComparer.Ordinal))
        {
            // A leg being removed can lose its directory between the listing and the read: it is no member then.
            if (MdSysfs.Read(dir, "offset")?.Trim() is not { } offset) continue;
            int? slot = int.TryParse(MdSysfs.Read(dir, "slot")?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : null;
            members.Add(new MdMember(Path.GetFileName(dir)["dev-".Length..], slot, Num("offset", offset)));
        }
        var g = new MdGeometry
        {
            Array = array, Level = level,
            Layout = (int)Num("layout", Get("layout")),
            ChunkSectors = level == "raid1" ? 0 : Num("chunk_size", Get("chunk_size")) / 512,
            RaidDisks = (int)Num("raid_disks", Get("raid_disks")),
            ComponentSectors = Num("component_size", Get("component_size")) * 2,   // KiB
            Members = members,
        };
        g.Validate();
        return g;
    }

    /// <summary>Refuses what <see cref="Map"/> cannot place (ArrayLayoutNotSupported).</summary>
    public void Validate()
    {
        switch (Level)
        {
            case "raid1": break;
            case "raid10":
                if (NearCopies < 1 || (Layout >> 8 & 0xff) != 1 || (Layout & 0x10000) != 0)
                    throw Unsupported(Array, $"raid10 layout {LayoutName} ({Layout}): only the near layouts are mapped");
                break;
            case "raid4" or "raid5":
                if (Level == "raid5" && Layout is < LeftAsymmetric or > ParityN)
                    throw Unsupported(Array, $"{Level} layout {Layout} is not one md places this way");
                break;
            case "raid6":
                if (Layout is not (>= LeftAsymmetric and <= ParityN or >= LeftAsymmetric6 and <= Parity06))
                    throw Unsupported(Array, $"raid6 layout {LayoutName}: the DDF rotating layouts are not mapped");
                break;
            default:
                throw Unsupported(Array, $"level {Level}: only raid1, raid4, raid5, raid6 and raid10 (near) are mapped");
        }
        if (RaidDisks < 1 || (Level != "raid1" && (ChunkSectors == 0 || RaidDisks <= ParityDisks)) || (Level == "raid10" && NearCopies > RaidDisks))
            throw Unsupported(Array, $"{RaidDisks} raid disks with chunks of {ChunkSectors} sectors do not make a {Level} array");
    }

    /// <summary>
    /// Where the member in <paramref name="slot"/> keeps its sector <paramref name="memberSector"/> (a sector of the
    /// member device, data offset included) in the array: an array sector, parity, md's own area before the data
    /// offset, or beyond the array's data.
    /// </summary>
    public MdLegLocation Map(int slot, ulong dataOffset, ulong memberSector)
    {
        if (slot < 0 || slot >= RaidDisks)
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"{Array} has slots 0-{RaidDisks - 1}");
        if (memberSector < dataOffset) return new MdLegLocation(MdLegRole.MdMetadata);
        ulong s = memberSector - dataOffset;
        if (s >= ComponentSectors) return new MdLegLocation(MdLegRole.BeyondArray);
        if (Level == "raid1") return new MdLegLocation(MdLegRole.Data, s);

        ulong chunkInMember = s / ChunkSectors, offset = s % ChunkSectors;
        if (chunkInMember >= ComponentSectors / ChunkSectors) return new MdLegLocation(MdLegRole.BeyondArray);   // a partial chunk is unused
        if (Level == "raid10")
        {
            // raid10_find_phys, near layout: chunk c's copies are the positions c*near .. c*near+near-1 counted row by
            // row across the raid disks (row = chunk of each member).
            ulong position = chunkInMember * (ulong)RaidDisks + (ulong)slot;
            ulong chunk = position / (ulong)NearCopies;
            ulong array = chunk * ChunkSectors + offset;
            return array < ArraySectors ? new MdLegLocation(MdLegRole.Data, array, Copy: (int)(position % (ulong)NearCopies))
                : new MdLegLocation(MdLegRole.BeyondArray);
        }
        // raid5_compute_sector: stripe n holds chunks n*data .. n*data+data-1; find the data index placed on this slot.
        ulong stripe = chunkInMember;
        var (pd, qd) = ParitySlots(stripe);
        if (slot == pd) return new MdLegLocation(MdLegRole.Parity, Detail: "P");
        if (slot == qd) return new MdLegLocation(MdLegRole.Parity, Detail: "Q");
        for (int dd = 0; dd < DataDisks; dd++)
            if (DataSlot(stripe, dd) == slot)
                return new MdLegLocation(MdLegRole.Data, (stripe * (ulong)DataDisks + (ulong)dd) * ChunkSectors + offset);
        throw new InvalidOperationException($"{Array}: slot {slot} holds neither data nor parity in stripe {stripe}");
    }

    /// <summary>The array sector's place: the slot holding it (data copy 0) and the member sector after the data offset.</summary>
    public (int Slot, ulong MemberSector) Place(ulong arraySector)
    {
        if (arraySector >= ArraySectors) throw new ArgumentOutOfRangeException(nameof(arraySector));
        if (Level == "raid1") return (0, arraySector);
        ulong chunk = arraySector / ChunkSectors, offset = arraySector % ChunkSectors;
        if (Level == "raid10")
        {
            ulong position = chunk * (ulong)NearCopies;
            return ((int)(position % (ulong)RaidDisks), position / (ulong)RaidDisks * ChunkSectors + offset);
        }
        ulong stripe = chunk / (ulong)DataDisks;
        return (DataSlot(stripe, (int)(chunk % (ulong)DataDisks)), stripe * ChunkSectors + offset);
    }

    /// <summary>raid5_compute_sector's pd_idx and qd_idx (-1 when none) of a stripe.</summary>
    private (int Pd, int Qd) ParitySlots(ulong stripe)
    {
        int n = RaidDisks, data = DataDisks;
        if (Level == "raid4") return (data, -1);   // raid4: parity on the last member whatever the layout
        if (Level == "raid5")
            return (Layout switch
            {
                LeftAsymmetric or LeftSymmetric => data - (int)(stripe % (ulong)n),
                RightAsymmetric or RightSymmetric => (int)(stripe % (ulong)n),
                Parity0 => 0,
                _ => data,   // ParityN, raid4
            }, -1);
        return Layout switch
        {
            LeftAsymmetric or LeftSymmetric => Pq(n - 1 - (int)(stripe % (ulong)n)),
            RightAsymmetric or RightSymmetric => Pq((int)(stripe % (ulong)n)),
            Parity0 => (0, 1),
            ParityN => (data, data + 1),
            // The *_6 layouts: raid5's layout over the first n-1 members, Q always on the last.
            LeftAsymmetric6 or LeftSymmetric6 => (data - (int)(stripe % (ulong)(n - 1)), n - 1),
            RightAsymmetric6 or RightSymmetric6 => ((int)(stripe % (ulong)(n - 1)), n - 1),
            _ => (0, n - 1),   // Parity06
        };

        (int, int) Pq(int pd) => (pd, (pd + 1) % n);   // Q follows P (wrapping to slot 0)
    }

    /// <summary>The slot holding data index <paramref name="dd"/> (0-based within the stripe) of a stripe.</summary>
    private int DataSlot(ulong stripe, int dd)
    {
        int n = RaidDisks;
        var (pd, _) = ParitySlots(stripe);
        if (Level == "raid4") return dd;
        if (Level == "raid5")
            return Layout switch
            {
                LeftAsymmetric or RightAsymmetric => dd >= pd ? dd + 1 : dd,
                LeftSymmetric or RightSymmetric => (pd + 1 + dd) % n,
                Parity0 => dd + 1,
                _ => dd,
            };
        return Layout switch
        {
            // Asymmetric: data restarts at slot 0 and skips P and Q (Q D D D P when P is last).
            LeftAsymmetric or RightAsymmetric => pd == n - 1 ? dd + 1 : dd >= pd ? dd + 2 : dd,
            LeftSymmetric or RightSymmetric => (pd + 2 + dd) % n,
            Parity0 => dd + 2,
            ParityN => dd,
            LeftAsymmetric6 or RightAsymmetric6 => dd >= pd ? dd + 1 : dd,
            LeftSymmetric6 or RightSymmetric6 => (pd + 1 + dd) % (n - 1),
            _ => dd + 1,   // Parity06
        };
    }

    internal static IntegrityVolumeException Unsupported(string array, string why) =>
        new(ErrorIds.ArrayLayoutNotSupported, ErrorKind.NotSupported, $"{array}: cannot map member sectors to array sectors: {why}.", array);
}
