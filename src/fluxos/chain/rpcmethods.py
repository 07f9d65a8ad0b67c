"""Which RPC methods the node may send to fluxd and fluxbenchd, and which fluxd answers
may be cached (spec daemon.md §2.4–§2.5).

The allow-lists are fluxd 9's `help` sections (plus the hidden calls FluxOS itself makes)
and fluxbenchd's method set. A method outside them fails locally with upstream's
`Invalid Method: <m>`, before any network I/O.
"""

from __future__ import annotations

FLUXD_METHODS: frozenset[str] = frozenset(
    {
        # addressindex
        "getaddressbalance", "getaddressdeltas", "getaddressmempool", "getaddresstxids",
        "getaddressutxos",
        # benchmarks
        "getbenchmarks", "getbenchstatus", "startfluxbenchd", "startzelbenchd",
        "stopfluxbenchd", "stopzelbenchd",
        # blockchain
        "getbestblockhash", "getblock", "getblockchaininfo", "getblockcount", "getblockdeltas",
        "getblockhash", "getblockhashes", "getblockheader", "getchaintips", "getdifficulty",
        "getmempoolinfo", "getrawmempool", "getspentinfo", "gettxout", "gettxoutproof",
        "gettxoutsetinfo", "verifychain", "verifytxoutproof",
        # control
        "getinfo", "help", "stop",
        # disclosure
        "z_getpaymentdisclosure", "z_validatepaymentdisclosure",
        # fluxnode (flux* names and their deprecated zel* twins)
        "createconfirmationtransaction", "createfluxnodekey", "createzelnodekey",
        "createp2shstarttx", "signp2shstarttx", "sendp2shstarttx", "fluxnodecurrentwinner",
        "zelnodecurrentwinner", "getdoslist", "getstartlist", "getfluxnodecount",
        "getzelnodecount", "getfluxnodeoutputs", "getzelnodeoutputs", "getfluxnodestatus",
        "getzelnodestatus", "getmigrationcount", "listfluxnodeconf", "listzelnodeconf",
        "listfluxnodes", "listzelnodes", "startdeterministicfluxnode",
        "startdeterministiczelnode", "startfluxnode", "startzelnode",
        "viewdeterministicfluxnodelist", "viewdeterministiczelnodelist",
        # generating, mining
        "generate", "getgenerate", "setgenerate", "getblocksubsidy", "getblocktemplate",
        "getlocalsolps", "getmininginfo", "getnetworkhashps", "getnetworksolps",
        "prioritisetransaction", "submitblock",
        # network
        "addnode", "clearbanned", "disconnectnode", "getaddednodeinfo", "getconnectioncount",
        "getdeprecationinfo", "getnettotals", "getnetworkinfo", "getpeerinfo", "listbanned",
        "ping", "setban",
        # rawtransactions
        "createrawtransaction", "decoderawblock", "decoderawtransaction", "decodescript",
        "fundrawtransaction", "getrawtransaction", "sendrawtransaction", "signrawtransaction",
        # util
        "createmultisig", "estimatefee", "estimatepriority", "validateaddress",
        "verifymessage", "z_validateaddress",
        # wallet
        "addmultisigaddress", "backupwallet", "dumpprivkey", "dumpwallet", "encryptwallet",
        "getbalance", "getnewaddress", "getrawchangeaddress", "getreceivedbyaddress",
        "gettransaction", "getunconfirmedbalance", "getwalletinfo", "importaddress",
        "importprivkey", "importwallet", "keypoolrefill", "listaddressgroupings",
        "listlockunspent", "listreceivedbyaddress", "listsinceblock", "listtransactions",
        "listunspent", "lockunspent", "rescanblockchain", "sendfrom", "sendmany",
        "sendtoaddress", "settxfee", "signmessage", "walletlock", "walletpassphrase",
        "walletpassphrasechange", "zcbenchmark", "zcrawjoinsplit", "zcrawkeygen",
        "zcrawreceive", "zcsamplejoinsplit", "z_exportkey", "z_exportviewingkey",
        "z_exportwallet", "z_getbalance", "z_getmigrationstatus", "z_getnewaddress",
        "z_getoperationresult", "z_getoperationstatus", "z_gettotalbalance", "z_importkey",
        "z_importviewingkey", "z_importwallet", "z_listaddresses", "z_listoperationids",
        "z_listreceivedbyaddress", "z_listunspent", "z_mergetoaddress", "z_sendmany",
        "z_setmigration", "z_shieldcoinbase",
    }
)  # fmt: skip

FLUXBENCH_METHODS: frozenset[str] = frozenset(
    {
        "getstatus", "restartnodebenchmarks", "signzelnodetransaction",
        "signfluxnodetransaction", "getbenchmarks", "getpublicip", "startmultiportbench",
        "help", "stop", "getinfo", "decryptmessage", "getpublickey", "decryptrsamessage",
        "encryptmessage",
    }
)  # fmt: skip

# Reads of chain and network state: the same for every caller and harmless to repeat
# within seconds. Upstream cached every call for 20 s, wallet calls included, so two
# `getnewaddress` calls in a row returned the same address; we cache only these.
SHORT_CACHED_METHODS: frozenset[str] = frozenset(
    {
        "getinfo", "getblockchaininfo", "getblockcount", "getbestblockhash", "getblockhash",
        "getblockheader", "getchaintips", "getdifficulty", "getmempoolinfo", "getrawmempool",
        "gettxout", "gettxoutsetinfo", "getblockdeltas", "getblockhashes", "getspentinfo",
        "getaddressbalance", "getaddressdeltas", "getaddressmempool", "getaddresstxids",
        "getaddressutxos", "getblocksubsidy", "getmininginfo", "getnetworkhashps",
        "getnetworksolps", "getlocalsolps", "getconnectioncount", "getdeprecationinfo",
        "getnettotals", "getnetworkinfo", "getpeerinfo", "listbanned", "listfluxnodes",
        "listzelnodes", "viewdeterministicfluxnodelist", "viewdeterministiczelnodelist",
        "getfluxnodecount", "getzelnodecount", "getdoslist", "getstartlist",
        "fluxnodecurrentwinner", "zelnodecurrentwinner", "help", "decoderawtransaction",
        "decodescript", "validateaddress", "z_validateaddress", "verifymessage",
        "estimatefee", "estimatepriority", "getbenchmarks", "getbenchstatus",
        "createmultisig", "verifytxoutproof", "gettxoutproof",
    }
)  # fmt: skip
